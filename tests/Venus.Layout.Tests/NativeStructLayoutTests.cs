using Xunit.Abstractions;

namespace Venus.Layout.Tests;

/// <summary>
/// The generated structs of Venus.Protocol.Vulkan against the C ABI as gcc (Debian trixie, Vulkan
/// headers 1.4.309, in the peers chroot) lays it out: one probe program for every struct.
/// </summary>
[Collection(LayoutCollection.Name)]
public sealed class NativeStructLayoutTests(LayoutFixture fixture, ITestOutputHelper output)
{
    private static readonly int MinimumComparedStructs = 1000;

    [Fact]
    public void Probe_uses_Vulkan_headers_1_4_309()
    {
        CProbeResult probe = fixture.Require().Probe;
        Assert.Equal((1, 4, 309), (probe.HeaderVersionMajor, probe.HeaderVersionMinor, probe.HeaderVersionPatch));
    }

    [Fact]
    public void Every_generated_Khronos_struct_matches_the_gcc_layout_of_vulkan_h()
    {
        LayoutFixture f = fixture.Require();
        IReadOnlyList<LayoutMismatch> mismatches = f.Compare(f.HeaderMappings);
        int fields = f.HeaderMappings.Sum(m => m.Fields.Count);
        int bitFields = f.HeaderMappings.Sum(m => m.BitFields.Count);
        output.WriteLine($"compared {f.HeaderMappings.Count} structs, {fields} ordinary fields and {bitFields} merged bit-field words " +
                         $"with gcc in {f.Elapsed.TotalSeconds:0.0} s (fixture)");
        Assert.True(mismatches.Count == 0,
            $"{mismatches.Count} layout mismatches between Structs.cs and vulkan.h 1.4.309 (gcc, x86-64):\n" +
            string.Join('\n', mismatches));
    }

    [Fact]
    public void Venus_only_structs_match_their_hand_written_C_definitions()
    {
        LayoutFixture f = fixture.Require();
        IReadOnlyList<LayoutMismatch> mismatches = f.Compare(f.VenusOnlyMappings);
        Assert.True(mismatches.Count == 0, "layout mismatches of the Venus-only structs:\n" + string.Join('\n', mismatches));

        // Every hand-written declaration is used, and every Venus-only C# struct has one.
        var declared = f.VenusOnly.Structs.Keys.ToHashSet();
        var generated = f.VenusOnlyMappings.Select(m => m.CSharp.Name).ToHashSet();
        Assert.Equal(declared.Order(), generated.Order());
    }

    [Fact]
    public void Every_struct_of_the_namespace_is_compared_or_deliberately_skipped()
    {
        LayoutFixture f = fixture.Require();
        Assert.True(f.Unclassified.Count == 0,
            "structs of Venus.Protocol.Vulkan that neither vulkan.h nor VenusOnlyStructs declares (give them a C definition): " +
            string.Join(", ", f.Unclassified));
        int classified = f.HeaderMappings.Count + f.VenusOnlyMappings.Count + f.SkippedInlineArrayHelpers.Count + f.SkippedFunctionTables.Count;
        Assert.Equal(f.AllStructs.Count, classified);
        output.WriteLine($"{f.AllStructs.Count} structs: {f.HeaderMappings.Count} vs vulkan.h, {f.VenusOnlyMappings.Count} Venus-only, " +
                         $"skipped {f.SkippedInlineArrayHelpers.Count} inline-array helpers ({string.Join(", ", f.SkippedInlineArrayHelpers)}) " +
                         $"and {f.SkippedFunctionTables.Count} function tables ({string.Join(", ", f.SkippedFunctionTables)})");
    }

    [Fact]
    public void Skipped_function_tables_hold_only_function_pointers()
    {
        foreach (string name in VenusOnlyStructs.FunctionTables)
        {
            Type type = ManagedLayout.ProtocolAssembly.GetType($"{ManagedLayout.VulkanNamespace}.{name}")
                        ?? throw new InvalidOperationException($"Venus.Protocol has no struct {name}");
            var fields = type.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic);
            Assert.NotEmpty(fields);
            Assert.All(fields, f => Assert.True(f.FieldType.IsFunctionPointer || f.FieldType.IsUnmanagedFunctionPointer,
                $"{name}.{f.Name} is {f.FieldType}, not a function pointer: is {name} a C struct after all?"));
            ManagedStruct s = ManagedLayout.Measure(type);
            Assert.Equal(fields.Length * IntPtr.Size, s.Size);
            Assert.Equal(Enumerable.Range(0, fields.Length).Select(i => i * IntPtr.Size), s.Fields.Select(f => f.Offset));
        }
    }

    [Fact]
    public void Comparison_is_not_vacuous()
    {
        LayoutFixture f = fixture.Require();
        StructMapping[] compared = [.. f.HeaderMappings, .. f.VenusOnlyMappings];
        Assert.True(compared.Length > MinimumComparedStructs, $"only {compared.Length} structs were compared");
        int fields = compared.Sum(m => m.Fields.Count);
        Assert.True(fields > 5 * MinimumComparedStructs, $"only {fields} fields were compared");

        // gcc reported every struct and every ordinary field that was asked for.
        foreach (StructMapping m in compared)
        {
            Assert.True(f.Probe.Structs.TryGetValue(m.CTypeName, out CStructLayout? c), $"gcc did not report {m.CTypeName}");
            foreach (FieldMapping field in m.Fields)
                Assert.True(c.Fields.ContainsKey(field.C.Name), $"gcc did not report {m.CTypeName}.{field.C.Name}");
            foreach (BitFieldMapping group in m.BitFields)
                foreach (CMember member in group.Members)
                    Assert.True(c.BitFieldBytes.ContainsKey(member.Name), $"gcc did not report bit-field {m.CTypeName}.{member.Name}");
        }

        // Spot checks of gcc's numbers themselves.
        Assert.Equal(824, f.Probe.Structs["VkPhysicalDeviceProperties"].Size);
        Assert.Equal((296L, 504L), f.Probe.Structs["VkPhysicalDeviceProperties"].Fields["limits"]);
        Assert.Equal(64, f.Probe.Structs["VkAccelerationStructureInstanceKHR"].Size);
        Assert.Equal((48L, 50L), f.Probe.Structs["VkAccelerationStructureInstanceKHR"].BitFieldBytes["instanceCustomIndex"]);
        Assert.Equal((51L, 51L), f.Probe.Structs["VkAccelerationStructureInstanceKHR"].BitFieldBytes["mask"]);
    }

    [Fact]
    public void Merged_bit_fields_are_recognised()
    {
        LayoutFixture f = fixture.Require();
        var groups = f.HeaderMappings.SelectMany(m => m.BitFields.Select(g => $"{m.CSharp.Name}.{g.CSharp.Name}")).ToList();
        output.WriteLine(string.Join('\n', groups));
        Assert.Contains("VkAccelerationStructureInstanceKHR.instanceCustomIndex_mask", groups);
        Assert.Contains("VkAccelerationStructureInstanceKHR.instanceShaderBindingTableRecordOffset_flags", groups);
        // A real member with an underscore is an ordinary field.
        StructMapping astc = f.HeaderMappings.Single(m => m.CSharp.Name == "VkPhysicalDeviceTextureCompressionASTCHDRFeatures");
        Assert.Contains(astc.Fields, x => x.C.Name == "textureCompressionASTC_HDR");
        Assert.Empty(astc.BitFields);
    }

    [Fact]
    public void Deliberately_wrong_structs_are_caught_by_the_gcc_comparison()
    {
        LayoutFixture f = fixture.Require();
        var byStruct = f.DecoyMappings.ToDictionary(m => m.CSharp.Name, m => f.Compare([m]));
        foreach ((string name, IReadOnlyList<LayoutMismatch> found) in byStruct)
            output.WriteLine($"{name}:\n  " + string.Join("\n  ", found));

        IReadOnlyList<LayoutMismatch> extent = byStruct["VkExtent2D"];
        Assert.Contains(extent, m => m.Field == "height" && m.Problem.StartsWith("offset C# 8 vs C 4", StringComparison.Ordinal));
        Assert.Contains(extent, m => m.Field == "(sizeof)" && m.Problem == "C# 16 vs C 8");
        Assert.Contains(extent, m => m.Field == "(alignof)" && m.Problem.StartsWith("C# 8 vs C 4", StringComparison.Ordinal));

        IReadOnlyList<LayoutMismatch> barrier = byStruct["VkMemoryBarrier"];
        Assert.Equal(["dstAccessMask"], barrier.Select(m => m.Field));

        IReadOnlyList<LayoutMismatch> capture = byStruct["VkDeviceMemoryOpaqueCaptureAddressInfo"];
        LayoutMismatch narrow = Assert.Single(capture);
        Assert.Equal("memory", narrow.Field);
        Assert.StartsWith("field size C# 4 (UInt32) vs C 8", narrow.Problem);

        IReadOnlyList<LayoutMismatch> instance = byStruct["VkAccelerationStructureInstanceKHR"];
        Assert.Contains(instance, m => m.Field == "(member order)");
        Assert.Contains(instance, m => m.Field == "(sizeof)" && m.Problem == "C# 72 vs C 64");
        Assert.Contains(instance, m => m.Field == "instanceShaderBindingTableRecordOffset_flags (instanceShaderBindingTableRecordOffset)");
        Assert.Contains(instance, m => m.Field == "instanceShaderBindingTableRecordOffset_flags (flags)");
        Assert.DoesNotContain(instance, m => m.Field.StartsWith("instanceCustomIndex_mask", StringComparison.Ordinal));
    }
}
