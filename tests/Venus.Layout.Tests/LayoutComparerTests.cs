namespace Venus.Layout.Tests;

/// <summary>The comparison itself, on made-up layouts (no gcc).</summary>
public sealed class LayoutComparerTests
{
    private static readonly CStructDecl Decl = CDeclarations.Parse("""
        typedef struct VkFake {
            VkStructureType sType;
            const void* pNext;
            uint32_t count;
            uint32_t low:24;
            uint32_t high:8;
            uint64_t value;
        } VkFake;
        """).Structs["VkFake"];

    private static CStructLayout CLayout() => new("VkFake", 32, 8,
        new Dictionary<string, (long, long)> { ["sType"] = (0, 4), ["pNext"] = (8, 8), ["count"] = (16, 4), ["value"] = (24, 8) },
        new Dictionary<string, (long, long)> { ["low"] = (20, 22), ["high"] = (23, 23) });

    private static ManagedStruct Managed(params ManagedField[] fields) => new("VkFake", 32, 8, false, fields);

    private static readonly ManagedField[] Correct =
    [
        new("sType", 0, 4, "VkStructureType"),
        new("pNext", 8, 8, "Void*"),
        new("count", 16, 4, "UInt32"),
        new("low_high", 20, 4, "UInt32"),
        new("value", 24, 8, "UInt64"),
    ];

    [Fact]
    public void Parser_reads_members_and_bit_fields()
    {
        Assert.Equal(["sType", "pNext", "count", "low", "high", "value"], Decl.Members.Select(m => m.Name));
        Assert.Equal([null, null, null, 24, 8, null], Decl.Members.Select(m => m.BitWidth));
        CDeclarations d = CDeclarations.Parse("typedef union VkU {\n    float f[4U];\n    char c[3U][4U];\n    PFN_vkVoidFunction pfn;\n} VkU;\ntypedef VkU VkUKHR;\n");
        Assert.True(d.Structs["VkU"].IsUnion);
        Assert.Equal(["f", "c", "pfn"], d.Structs["VkU"].Members.Select(m => m.Name));
        Assert.Same(d.Structs["VkU"], d.Find("VkUKHR"));
    }

    [Fact]
    public void Identical_layout_gives_no_mismatch()
    {
        StructMapping mapping = StructMapping.Create(Managed(Correct), Decl);
        Assert.Single(mapping.BitFields);
        Assert.Equal(["low", "high"], mapping.BitFields[0].Members.Select(m => m.Name));
        Assert.Empty(LayoutComparer.Compare(mapping, CLayout()));
    }

    [Fact]
    public void Fake_offset_mismatch_is_reported_with_struct_field_offsets_and_sizes()
    {
        ManagedField[] wrong = [.. Correct];
        wrong[4] = new("value", 28, 8, "UInt64");
        IReadOnlyList<LayoutMismatch> found = LayoutComparer.Compare(StructMapping.Create(Managed(wrong) with { Size = 40 }, Decl), CLayout());
        Assert.Equal(2, found.Count);
        Assert.Equal("VkFake.(sizeof): C# 40 vs C 32", found[0].ToString());
        Assert.Equal("VkFake.value: offset C# 28 vs C 24; field size C# 8 vs C 8; struct size C# 40 vs C 32", found[1].ToString());
    }

    [Fact]
    public void Fake_field_size_and_alignment_mismatches_are_reported()
    {
        ManagedField[] wrong = [.. Correct];
        wrong[2] = new("count", 16, 2, "UInt16");
        IReadOnlyList<LayoutMismatch> found = LayoutComparer.Compare(StructMapping.Create(Managed(wrong) with { Alignment = 4 }, Decl), CLayout());
        Assert.Equal(["(alignof)", "count"], found.Select(m => m.Field));
    }

    [Fact]
    public void Fake_bit_field_outside_its_word_is_reported()
    {
        ManagedField[] wrong = [.. Correct];
        wrong[3] = new("low_high", 16, 4, "UInt32");
        IReadOnlyList<LayoutMismatch> found = LayoutComparer.Compare(StructMapping.Create(Managed(wrong), Decl), CLayout());
        Assert.Equal(["low_high (low)", "low_high (high)"], found.Select(m => m.Field));
        Assert.Contains("occupies C bytes 20..22, outside the C# field's bytes 16..19", found[0].Problem);
    }

    [Fact]
    public void Missing_extra_and_reordered_fields_are_reported()
    {
        ManagedField[] wrong =
        [
            new("sType", 0, 4, "VkStructureType"),
            new("pNext", 8, 8, "Void*"),
            new("low_high", 16, 4, "UInt32"),
            new("count", 20, 4, "UInt32"),
            new("extra", 24, 8, "UInt64"),
        ];
        StructMapping mapping = StructMapping.Create(Managed(wrong), Decl);
        Assert.Equal(["extra", "value", "(member order)"], mapping.NameMismatches.Select(m => m.Field));
        Assert.NotEmpty(LayoutComparer.Compare(mapping, CLayout()));
    }

    [Fact]
    public void Union_declared_as_sequential_struct_is_reported()
    {
        CStructDecl union = CDeclarations.Parse("typedef union VkFake {\n    uint32_t a;\n} VkFake;\n").Structs["VkFake"];
        StructMapping mapping = StructMapping.Create(new ManagedStruct("VkFake", 4, 4, false, [new("a", 0, 4, "UInt32")]), union);
        Assert.Equal(["(kind)"], mapping.NameMismatches.Select(m => m.Field));
    }
}
