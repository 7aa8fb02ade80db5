using System.Runtime.InteropServices;
using Venus.GuestIcd.Generated;
using Venus.GuestIcd.Loader;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>A ray-tracing pipeline's shader group count and, once asked for, all its group handles.</summary>
internal sealed class RayTracingPipeline(uint groupCount)
{
    public uint GroupCount { get; } = groupCount;
    public byte[]? Handles;
}

/// <summary>
/// What ray tracing needs beyond forwarding (VK_KHR_acceleration_structure, ray_tracing_pipeline,
/// deferred_host_operations). Acceleration structures live in host memory the guest cannot reach,
/// so host-side builds and copies (the three commands the protocol does not carry) are refused and
/// accelerationStructureHostCommands reads false (so are the host-side copy and property query that
/// do travel, whose deferred operation would be one of this driver's); capture/replay group handles do not travel
/// (their pointer has no size on the wire), so those features read false. Deferred operations are
/// local: the work given one is done at once (VK_OPERATION_NOT_DEFERRED_KHR), so no host thread
/// ever waits on a join. Shader group handles never change for a pipeline, so the first query
/// fetches all of them and later ones are answered here.
/// </summary>
internal static unsafe class RayTracing
{
    private const string HostCommands = "needs accelerationStructureHostCommands, which this driver reports false (acceleration structures live in the host's memory)";

    public static void FillFeatures(VkBaseOutStructure* s)
    {
        if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ACCELERATION_STRUCTURE_FEATURES_KHR)
            ((VkPhysicalDeviceAccelerationStructureFeaturesKHR*)s)->accelerationStructureHostCommands = 0;
        else if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_TRACING_PIPELINE_FEATURES_KHR)
        {
            var f = (VkPhysicalDeviceRayTracingPipelineFeaturesKHR*)s;
            f->rayTracingPipelineShaderGroupHandleCaptureReplay = 0;
            f->rayTracingPipelineShaderGroupHandleCaptureReplayMixed = 0;
        }
    }

    internal static VkResult Refuse(string command)
    {
        IcdLog.Error($"{command} refused: {HostCommands}");
        return VkResult.VK_ERROR_OUT_OF_HOST_MEMORY;
    }

    /// <summary>The pipeline's groups: its own, then those of each library it links (the order handles are indexed in).</summary>
    internal static uint GroupCount(Device dev, VkRayTracingPipelineCreateInfoKHR* info)
    {
        uint n = info->groupCount;
        VkPipelineLibraryCreateInfoKHR* libs = info->pLibraryInfo;
        for (uint j = 0; libs != null && j < libs->libraryCount; j++)
            if (dev.RayTracingPipelines.TryGetValue(libs->pLibraries[j], out RayTracingPipeline? lib))
                n += lib.GroupCount;
        return n;
    }
}
