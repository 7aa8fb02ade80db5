using Venus.HostRenderer.Context;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer;

/// <summary>
/// Acceleration-structure builds and size queries: the decoder checks every array against its
/// count, but a build info names its geometries through either of two arrays (pGeometries or
/// ppGeometries), and the driver dereferences whichever is set. Exactly one must be present when
/// there are geometries, and no geometry of ppGeometries may be missing; anything else is fatal
/// before the driver sees it. (Device addresses inside the geometries are the guest's to get
/// right, as with any buffer device address: the driver reads through them on the device.)
/// </summary>
internal sealed unsafe partial class Handlers
{
    const uint MaxBuildInfos = 65536;

    bool CheckBuildInfos(string command, uint count, VkAccelerationStructureBuildGeometryInfoKHR* infos)
    {
        if (count > MaxBuildInfos) return Fatal($"{command}: {count} build infos");
        if (count != 0 && infos == null) return Fatal($"{command}: no build infos for a count of {count}");
        for (uint i = 0; i < count; i++)
        {
            VkAccelerationStructureBuildGeometryInfoKHR* info = &infos[i];
            if (info->geometryCount == 0) continue;
            if ((info->pGeometries == null) == (info->ppGeometries == null))
                return Fatal($"{command}: build info {i} has {info->geometryCount} geometries but {(info->pGeometries == null ? "neither" : "both")} of pGeometries and ppGeometries");
            if (info->ppGeometries != null)
                for (uint j = 0; j < info->geometryCount; j++)
                    if (info->ppGeometries[j] == null)
                        return Fatal($"{command}: build info {i}: ppGeometries[{j}] is missing");
        }
        return true;
    }

    internal partial bool vkCmdBuildAccelerationStructuresKHRCheck(Dispatcher x, vkCmdBuildAccelerationStructuresKHR.Args* a)
    {
        if (!CheckBuildInfos("vkCmdBuildAccelerationStructuresKHR", a->infoCount, a->pInfos)) return false;
        if (a->infoCount != 0 && a->ppBuildRangeInfos == null) return Fatal("vkCmdBuildAccelerationStructuresKHR: no build ranges");
        for (uint i = 0; i < a->infoCount; i++)
            if (a->pInfos[i].geometryCount != 0 && a->ppBuildRangeInfos[i] == null)
                return Fatal($"vkCmdBuildAccelerationStructuresKHR: no build ranges for info {i}");
        return true;
    }

    internal partial bool vkCmdBuildAccelerationStructuresIndirectKHRCheck(Dispatcher x, vkCmdBuildAccelerationStructuresIndirectKHR.Args* a)
    {
        if (!CheckBuildInfos("vkCmdBuildAccelerationStructuresIndirectKHR", a->infoCount, a->pInfos)) return false;
        if (a->infoCount != 0 && (a->ppMaxPrimitiveCounts == null || a->pIndirectDeviceAddresses == null || a->pIndirectStrides == null))
            return Fatal("vkCmdBuildAccelerationStructuresIndirectKHR: missing addresses, strides or primitive counts");
        for (uint i = 0; i < a->infoCount; i++)
            if (a->pInfos[i].geometryCount != 0 && a->ppMaxPrimitiveCounts[i] == null)
                return Fatal($"vkCmdBuildAccelerationStructuresIndirectKHR: no primitive counts for info {i}");
        return true;
    }

    internal partial bool vkGetAccelerationStructureBuildSizesKHRCheck(Dispatcher x, vkGetAccelerationStructureBuildSizesKHR.Args* a)
    {
        if (a->pBuildInfo == null || a->pSizeInfo == null) return Fatal("vkGetAccelerationStructureBuildSizesKHR: no build info or size info");
        if (!CheckBuildInfos("vkGetAccelerationStructureBuildSizesKHR", 1, a->pBuildInfo)) return false;
        if (a->pBuildInfo->geometryCount != 0 && a->pMaxPrimitiveCounts == null)
            return Fatal("vkGetAccelerationStructureBuildSizesKHR: no primitive counts");
        // Host builds are never offered: a size query for them is a device query too.
        if (a->buildType != VkAccelerationStructureBuildTypeKHR.VK_ACCELERATION_STRUCTURE_BUILD_TYPE_DEVICE_KHR)
            return Fatal($"vkGetAccelerationStructureBuildSizesKHR: build type {a->buildType} (only device builds travel)");
        return true;
    }
}
