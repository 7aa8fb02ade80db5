using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Venus.Protocol.Vulkan;

namespace Venus.Layout.Tests;

/// <summary>The reflection side, checked by hand (no gcc).</summary>
public sealed class ManagedLayoutTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public unsafe void Sizes_and_offsets_match_hand_computed_values()
    {
        Assert.Equal(8, ManagedLayout.Measure(typeof(VkExtent2D)).Size);
        Assert.Equal(sizeof(VkPhysicalDeviceProperties), Unsafe.SizeOf<VkPhysicalDeviceProperties>());

        // Fixed buffers: char deviceName[256] at 20, uint8_t pipelineCacheUUID[16] at 276, limits at 296.
        ManagedStruct props = ManagedLayout.Measure(typeof(VkPhysicalDeviceProperties));
        Assert.Equal(824, props.Size);
        Assert.Equal(8, props.Alignment);
        Assert.Equal((20, 256), Field(props, "deviceName"));
        Assert.Equal((276, 16), Field(props, "pipelineCacheUUID"));
        Assert.Equal(296, Field(props, "limits").Offset);

        // [InlineArray] fields: VkMemoryType memoryTypes[32] (8 bytes each), VkMemoryHeap memoryHeaps[16] (16 bytes each).
        ManagedStruct memory = ManagedLayout.Measure(typeof(VkPhysicalDeviceMemoryProperties));
        Assert.Equal(520, memory.Size);
        Assert.Equal((4, 256), Field(memory, "memoryTypes"));
        Assert.Equal((260, 4), Field(memory, "memoryHeapCount"));
        Assert.Equal((264, 256), Field(memory, "memoryHeaps"));

        // A union of fixed buffers.
        ManagedStruct color = ManagedLayout.Measure(typeof(VkClearColorValue));
        Assert.True(color.IsExplicit);
        Assert.Equal(16, color.Size);
        Assert.All(color.Fields, f => Assert.Equal((0, 16), (f.Offset, f.Size)));

        // Pointers and function pointers (nint) are 8 bytes.
        ManagedStruct callbacks = ManagedLayout.Measure(typeof(VkAllocationCallbacks));
        Assert.Equal(48, callbacks.Size);
        Assert.Equal([0, 8, 16, 24, 32, 40], callbacks.Fields.Select(f => f.Offset));
    }

    [Fact]
    public void C_keyword_escapes_are_reported_with_the_C_name()
    {
        Assert.Equal("object", ManagedLayout.CName("@object"));
        ManagedStruct info = ManagedLayout.Measure(typeof(VkDebugMarkerObjectNameInfoEXT));
        Assert.Contains(info.Fields, f => f.Name == "object");
    }

    [Fact]
    public void Alignment_probe_gives_natural_alignments()
    {
        Assert.Equal(1, ManagedLayout.AlignmentOf(typeof(byte)));
        Assert.Equal(2, ManagedLayout.AlignmentOf(typeof(ushort)));
        Assert.Equal(4, ManagedLayout.AlignmentOf(typeof(uint)));
        Assert.Equal(8, ManagedLayout.AlignmentOf(typeof(ulong)));
        Assert.Equal(4, ManagedLayout.AlignmentOf(typeof(VkExtent3D)));
        Assert.Equal(8, ManagedLayout.AlignmentOf(typeof(VkPhysicalDeviceMemoryProperties)));
    }

    /// <summary>
    /// The ldflda offsets agree with <see cref="Marshal.OffsetOf(Type, string)"/> and the IL sizeof with
    /// <see cref="Marshal.SizeOf(Type)"/> for every struct where the marshaller can lay it out at all.
    /// </summary>
    [Fact]
    public void Managed_offsets_agree_with_Marshal_OffsetOf()
    {
        var disagreements = new List<string>();
        int checkedFields = 0, marshalRefused = 0;
        foreach (Type type in ManagedLayout.AllVulkanNamespaceStructs())
        {
            ManagedStruct measured = ManagedLayout.Measure(type);
            int marshalSize;
            try
            {
                marshalSize = Marshal.SizeOf(type);
            }
            catch (ArgumentException)
            {
                marshalRefused++;
                continue;
            }
            if (marshalSize != measured.Size)
                disagreements.Add($"{type.Name}: Marshal.SizeOf {marshalSize} vs Unsafe.SizeOf {measured.Size}");
            foreach (FieldInfo field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            {
                long marshalOffset = Marshal.OffsetOf(type, field.Name);
                int offset = measured.Fields.Single(f => f.Name == ManagedLayout.CName(field.Name)).Offset;
                if (marshalOffset != offset)
                    disagreements.Add($"{type.Name}.{field.Name}: Marshal.OffsetOf {marshalOffset} vs ldflda {offset}");
                checkedFields++;
            }
        }
        output.WriteLine($"Marshal agrees on {checkedFields} fields; it refused {marshalRefused} structs");
        Assert.True(checkedFields > 5000, $"only {checkedFields} fields checked ({marshalRefused} structs refused by the marshaller)");
        Assert.True(disagreements.Count == 0, string.Join('\n', disagreements));
    }

    private static (int Offset, int Size) Field(ManagedStruct s, string name)
    {
        ManagedField f = s.Fields.Single(x => x.Name == name);
        return (f.Offset, f.Size);
    }
}
