namespace Venus.Layout.Tests;

/// <summary>
/// The Venus private structs (VK_EXT_command_serialization / VK_MESA_venus_protocol) that vulkan.h
/// does not declare. Their C definitions are written here by hand from
/// shared/docs/venus-protocol.md §3.1 and src/Venus.Codegen/Definitions/venus.xml (C member order and
/// C types; the MESA flag typedefs are all <c>VkFlags</c>) and measured by the same gcc run as the
/// Khronos structs.
/// </summary>
public static class VenusOnlyStructs
{
    public const string CDeclarations = """
        typedef struct VkCommandStreamDescriptionMESA {
            uint32_t resourceId;
            size_t offset;
            size_t size;
        } VkCommandStreamDescriptionMESA;
        typedef struct VkCommandStreamDependencyMESA {
            uint32_t srcCommandStream;
            uint32_t dstCommandStream;
        } VkCommandStreamDependencyMESA;
        typedef struct VkRingCreateInfoMESA {
            VkStructureType sType;
            const void* pNext;
            VkFlags flags;
            uint32_t resourceId;
            size_t offset;
            size_t size;
            uint64_t idleTimeout;
            size_t headOffset;
            size_t tailOffset;
            size_t statusOffset;
            size_t bufferOffset;
            size_t bufferSize;
            size_t extraOffset;
            size_t extraSize;
        } VkRingCreateInfoMESA;
        typedef struct VkRingMonitorInfoMESA {
            VkStructureType sType;
            const void* pNext;
            uint32_t maxReportingPeriodMicroseconds;
        } VkRingMonitorInfoMESA;
        typedef struct VkRingPriorityInfoMESA {
            VkStructureType sType;
            const void* pNext;
            int32_t priority;
        } VkRingPriorityInfoMESA;
        typedef struct VkMemoryResourcePropertiesMESA {
            VkStructureType sType;
            void* pNext;
            uint32_t memoryTypeBits;
        } VkMemoryResourcePropertiesMESA;
        typedef struct VkImportMemoryResourceInfoMESA {
            VkStructureType sType;
            const void* pNext;
            uint32_t resourceId;
        } VkImportMemoryResourceInfoMESA;
        typedef struct VkMemoryResourceAllocationSizePropertiesMESA {
            VkStructureType sType;
            void* pNext;
            uint64_t allocationSize;
        } VkMemoryResourceAllocationSizePropertiesMESA;
        typedef struct VkImportSemaphoreResourceInfoMESA {
            VkStructureType sType;
            const void* pNext;
            VkSemaphore semaphore;
            uint32_t resourceId;
        } VkImportSemaphoreResourceInfoMESA;
        typedef struct VkDeviceQueueTimelineInfoMESA {
            VkStructureType sType;
            const void* pNext;
            uint32_t ringIdx;
        } VkDeviceQueueTimelineInfoMESA;
        typedef struct VkCopyImageToMemoryInfoMESA {
            VkStructureType sType;
            const void* pNext;
            VkHostImageCopyFlags flags;
            VkImage srcImage;
            VkImageLayout srcImageLayout;
            uint32_t memoryRowLength;
            uint32_t memoryImageHeight;
            VkImageSubresourceLayers imageSubresource;
            VkOffset3D imageOffset;
            VkExtent3D imageExtent;
        } VkCopyImageToMemoryInfoMESA;
        typedef struct VkMemoryToImageCopyMESA {
            VkStructureType sType;
            const void* pNext;
            size_t dataSize;
            const void* pData;
            uint32_t memoryRowLength;
            uint32_t memoryImageHeight;
            VkImageSubresourceLayers imageSubresource;
            VkOffset3D imageOffset;
            VkExtent3D imageExtent;
        } VkMemoryToImageCopyMESA;
        typedef struct VkCopyMemoryToImageInfoMESA {
            VkStructureType sType;
            const void* pNext;
            VkHostImageCopyFlags flags;
            VkImage dstImage;
            VkImageLayout dstImageLayout;
            uint32_t regionCount;
            const VkMemoryToImageCopyMESA* pRegions;
        } VkCopyMemoryToImageInfoMESA;
        """;

    /// <summary>
    /// Expectations written out by hand (LP64) from §3.1 of venus-protocol.md (member list and C types),
    /// independent of gcc: name → (sizeof, offsets of the members in C order).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, (int Size, (string Member, int Offset)[] Members)> DocumentedLayouts =
        new Dictionary<string, (int, (string, int)[])>
        {
            // { u32 resourceId; size_t offset; size_t size; }
            ["VkCommandStreamDescriptionMESA"] = (24, [("resourceId", 0), ("offset", 8), ("size", 16)]),
            // { u32 srcCommandStream; u32 dstCommandStream; }
            ["VkCommandStreamDependencyMESA"] = (8, [("srcCommandStream", 0), ("dstCommandStream", 4)]),
            // sType, pNext, VkFlags flags; u32 resourceId; size_t offset, size; u64 idleTimeout; 7 × size_t
            ["VkRingCreateInfoMESA"] = (104, [("sType", 0), ("pNext", 8), ("flags", 16), ("resourceId", 20), ("offset", 24),
                ("size", 32), ("idleTimeout", 40), ("headOffset", 48), ("tailOffset", 56), ("statusOffset", 64),
                ("bufferOffset", 72), ("bufferSize", 80), ("extraOffset", 88), ("extraSize", 96)]),
            ["VkMemoryResourcePropertiesMESA"] = (24, [("sType", 0), ("pNext", 8), ("memoryTypeBits", 16)]),
            ["VkImportMemoryResourceInfoMESA"] = (24, [("sType", 0), ("pNext", 8), ("resourceId", 16)]),
            ["VkMemoryResourceAllocationSizePropertiesMESA"] = (24, [("sType", 0), ("pNext", 8), ("allocationSize", 16)]),
            // sType, pNext, VkSemaphore semaphore (8-byte handle); u32 resourceId
            ["VkImportSemaphoreResourceInfoMESA"] = (32, [("sType", 0), ("pNext", 8), ("semaphore", 16), ("resourceId", 24)]),
            ["VkDeviceQueueTimelineInfoMESA"] = (24, [("sType", 0), ("pNext", 8), ("ringIdx", 16)]),
            ["VkRingMonitorInfoMESA"] = (24, [("sType", 0), ("pNext", 8), ("maxReportingPeriodMicroseconds", 16)]),
        };

    /// <summary>
    /// Structs of the namespace that are not C ABI structs at all: the generated function-pointer
    /// tables (Functions.cs), loaded with vkGet*ProcAddr and never passed to C.
    /// </summary>
    public static readonly IReadOnlySet<string> FunctionTables = new HashSet<string>(StringComparer.Ordinal)
    {
        "VkInstanceFunctions",
        "VkDeviceFunctions",
    };
}
