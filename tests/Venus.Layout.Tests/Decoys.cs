using System.Runtime.InteropServices;
using Venus.Protocol.Vulkan;

namespace Venus.Layout.Tests;

/// <summary>
/// Deliberately wrong C# copies of real Vulkan structs. They go through the same reflection
/// measurement, the same gcc probe and the same comparison as the generated structs; the tests
/// expect each of them to be reported, which proves the check can fail.
/// </summary>
public static class Decoys
{
    /// <summary>VkExtent2D with <c>height</c> widened to 64 bits: offset, sizeof and alignof all differ.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct WideHeightExtent2D
    {
        public uint width;
        public ulong height;
    }

    /// <summary>VkMemoryBarrier without <c>dstAccessMask</c>: same sizeof (24) as C, only the missing member shows.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct MissingMemberMemoryBarrier
    {
        public VkStructureType sType;
        public void* pNext;
        public uint srcAccessMask;
    }

    /// <summary>VkDeviceMemoryOpaqueCaptureAddressInfo with a 32-bit handle: same offsets and sizeof, only the field size differs.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct NarrowHandleCaptureAddressInfo
    {
        public VkStructureType sType;
        public void* pNext;
        public uint memory;
    }

    /// <summary>VkAccelerationStructureInstanceKHR with its second bit-field word moved after the 64-bit reference.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MovedBitFieldInstance
    {
        public VkTransformMatrixKHR transform;
        public uint instanceCustomIndex_mask;
        public ulong accelerationStructureReference;
        public uint instanceShaderBindingTableRecordOffset_flags;
    }

    /// <summary>Decoy type → the vulkan.h struct it pretends to be.</summary>
    public static readonly IReadOnlyList<(Type Type, string CName)> All =
    [
        (typeof(WideHeightExtent2D), "VkExtent2D"),
        (typeof(MissingMemberMemoryBarrier), "VkMemoryBarrier"),
        (typeof(NarrowHandleCaptureAddressInfo), "VkDeviceMemoryOpaqueCaptureAddressInfo"),
        (typeof(MovedBitFieldInstance), "VkAccelerationStructureInstanceKHR"),
    ];

    /// <summary>The decoys mapped onto the C declarations they imitate (named like them, so the probe measures those).</summary>
    public static IReadOnlyList<StructMapping> Mappings(CDeclarations header) =>
        All.Select(d => StructMapping.Create(
                ManagedLayout.Measure(d.Type) with { Name = d.CName },
                header.Find(d.CName) ?? throw new InvalidOperationException($"vulkan.h does not declare {d.CName}")))
            .ToList();
}
