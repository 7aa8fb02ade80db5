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

    public static void Add(Action<string, nint, ProcScope, uint, string?> put)
    {
        const string As = "VK_KHR_acceleration_structure", Rt = "VK_KHR_ray_tracing_pipeline", Dho = "VK_KHR_deferred_host_operations";
        put("vkBuildAccelerationStructuresKHR", (nint)(delegate* unmanaged<ulong, ulong, uint, void*, void**, VkResult>)&vkBuildAccelerationStructuresKHR, ProcScope.Device, 0, As);
        put("vkCopyAccelerationStructureToMemoryKHR", (nint)(delegate* unmanaged<ulong, ulong, void*, VkResult>)&vkCopyAccelerationStructureToMemoryKHR, ProcScope.Device, 0, As);
        put("vkCopyMemoryToAccelerationStructureKHR", (nint)(delegate* unmanaged<ulong, ulong, void*, VkResult>)&vkCopyMemoryToAccelerationStructureKHR, ProcScope.Device, 0, As);
        put("vkCopyAccelerationStructureKHR", (nint)(delegate* unmanaged<ulong, ulong, void*, VkResult>)&vkCopyAccelerationStructureKHR, ProcScope.Device, 0, As);
        put("vkWriteAccelerationStructuresPropertiesKHR", (nint)(delegate* unmanaged<ulong, uint, ulong*, int, nuint, void*, nuint, VkResult>)&vkWriteAccelerationStructuresPropertiesKHR, ProcScope.Device, 0, As);
        put("vkCreateRayTracingPipelinesKHR", (nint)(delegate* unmanaged<ulong, ulong, ulong, uint, VkRayTracingPipelineCreateInfoKHR*, VkAllocationCallbacks*, ulong*, VkResult>)&vkCreateRayTracingPipelinesKHR, ProcScope.Device, 0, Rt);
        put("vkGetRayTracingShaderGroupHandlesKHR", (nint)(delegate* unmanaged<ulong, ulong, uint, uint, nuint, void*, VkResult>)&vkGetRayTracingShaderGroupHandlesKHR, ProcScope.Device, 0, Rt);
        put("vkCreateDeferredOperationKHR", (nint)(delegate* unmanaged<ulong, VkAllocationCallbacks*, ulong*, VkResult>)&vkCreateDeferredOperationKHR, ProcScope.Device, 0, Dho);
        put("vkDestroyDeferredOperationKHR", (nint)(delegate* unmanaged<ulong, ulong, VkAllocationCallbacks*, void>)&vkDestroyDeferredOperationKHR, ProcScope.Device, 0, Dho);
        put("vkGetDeferredOperationMaxConcurrencyKHR", (nint)(delegate* unmanaged<ulong, ulong, uint>)&vkGetDeferredOperationMaxConcurrencyKHR, ProcScope.Device, 0, Dho);
        put("vkGetDeferredOperationResultKHR", (nint)(delegate* unmanaged<ulong, ulong, VkResult>)&vkGetDeferredOperationResultKHR, ProcScope.Device, 0, Dho);
        put("vkDeferredOperationJoinKHR", (nint)(delegate* unmanaged<ulong, ulong, VkResult>)&vkDeferredOperationJoinKHR, ProcScope.Device, 0, Dho);
        put("vkDestroyPipeline", (nint)(delegate* unmanaged<ulong, ulong, VkAllocationCallbacks*, void>)&vkDestroyPipeline, ProcScope.Device, 1u << 22, null);
    }

    private static Device Dev(ulong handle) => DispatchableObject.From<Device>(handle);

    private static VkResult Refuse(string command)
    {
        IcdLog.Error($"{command} refused: {HostCommands}");
        return VkResult.VK_ERROR_OUT_OF_HOST_MEMORY;
    }

    [UnmanagedCallersOnly]
    private static VkResult vkBuildAccelerationStructuresKHR(ulong device, ulong deferredOperation, uint infoCount, void* pInfos, void** ppBuildRangeInfos) =>
        Refuse("vkBuildAccelerationStructuresKHR");

    [UnmanagedCallersOnly]
    private static VkResult vkCopyAccelerationStructureToMemoryKHR(ulong device, ulong deferredOperation, void* pInfo) =>
        Refuse("vkCopyAccelerationStructureToMemoryKHR");

    [UnmanagedCallersOnly]
    private static VkResult vkCopyMemoryToAccelerationStructureKHR(ulong device, ulong deferredOperation, void* pInfo) =>
        Refuse("vkCopyMemoryToAccelerationStructureKHR");

    // These two travel, but they are host commands too (and a deferred operation of this driver's means nothing to the host).
    [UnmanagedCallersOnly]
    private static VkResult vkCopyAccelerationStructureKHR(ulong device, ulong deferredOperation, void* pInfo) =>
        Refuse("vkCopyAccelerationStructureKHR");

    [UnmanagedCallersOnly]
    private static VkResult vkWriteAccelerationStructuresPropertiesKHR(ulong device, uint count, ulong* structures, int queryType, nuint dataSize, void* pData, nuint stride) =>
        Refuse("vkWriteAccelerationStructuresPropertiesKHR");

    [UnmanagedCallersOnly]
    private static VkResult vkCreateRayTracingPipelinesKHR(ulong device, ulong deferredOperation, ulong pipelineCache, uint createInfoCount,
        VkRayTracingPipelineCreateInfoKHR* pCreateInfos, VkAllocationCallbacks* pAllocator, ulong* pPipelines)
    {
        try
        {
            var dev = Dev(device);
            if (deferredOperation != 0 && !dev.DeferredOperations.ContainsKey(deferredOperation))
            {
                IcdLog.Error("vkCreateRayTracingPipelinesKHR: unknown deferred operation");
                return VkResult.VK_ERROR_UNKNOWN;
            }
            for (uint i = 0; i < createInfoCount; i++)
                pPipelines[i] = dev.Instance.NewObjectId();
            VkResult r = Calls.vkCreateRayTracingPipelinesKHR(dev.Ring, device, 0, pipelineCache, createInfoCount, pCreateInfos, null, pPipelines);
            for (uint i = 0; i < createInfoCount; i++)
            {
                if (r < 0 || pPipelines[i] == 0) { pPipelines[i] = 0; continue; }
                dev.RayTracingPipelines[pPipelines[i]] = new RayTracingPipeline(GroupCount(dev, &pCreateInfos[i]));
            }
            if (deferredOperation != 0)
            {
                // The work is done: the operation holds its result, and the call says nothing was deferred.
                dev.DeferredOperations[deferredOperation] = r;
                if (r >= 0)
                    r = VkResult.VK_OPERATION_NOT_DEFERRED_KHR;
            }
            return Icd.Trace(r, "vkCreateRayTracingPipelinesKHR");
        }
        catch (Exception e)
        {
            for (uint i = 0; i < createInfoCount && pPipelines != null; i++)
                pPipelines[i] = 0;
            return Icd.Fail(e, "vkCreateRayTracingPipelinesKHR");
        }
    }

    /// <summary>The pipeline's groups: its own, then those of each library it links (the order handles are indexed in).</summary>
    private static uint GroupCount(Device dev, VkRayTracingPipelineCreateInfoKHR* info)
    {
        uint n = info->groupCount;
        VkPipelineLibraryCreateInfoKHR* libs = info->pLibraryInfo;
        for (uint j = 0; libs != null && j < libs->libraryCount; j++)
            if (dev.RayTracingPipelines.TryGetValue(libs->pLibraries[j], out RayTracingPipeline? lib))
                n += lib.GroupCount;
        return n;
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetRayTracingShaderGroupHandlesKHR(ulong device, ulong pipeline, uint firstGroup, uint groupCount, nuint dataSize, void* pData)
    {
        try
        {
            var dev = Dev(device);
            if (!dev.RayTracingPipelines.TryGetValue(pipeline, out RayTracingPipeline? p) || p.GroupCount == 0)
                return Icd.Trace(Calls.vkGetRayTracingShaderGroupHandlesKHR(dev.Ring, device, pipeline, firstGroup, groupCount, dataSize, pData),
                    "vkGetRayTracingShaderGroupHandlesKHR");
            byte[]? handles = p.Handles;
            if (handles is null)
            {
                uint size = dev.PhysicalDevice.ShaderGroupHandleSize;
                if (size == 0)
                    return Icd.Trace(Calls.vkGetRayTracingShaderGroupHandlesKHR(dev.Ring, device, pipeline, firstGroup, groupCount, dataSize, pData),
                        "vkGetRayTracingShaderGroupHandlesKHR");
                var all = new byte[(ulong)size * p.GroupCount];
                fixed (byte* a = all)
                {
                    VkResult r = Calls.vkGetRayTracingShaderGroupHandlesKHR(dev.Ring, device, pipeline, 0, p.GroupCount, (nuint)all.Length, a);
                    if (r != VkResult.VK_SUCCESS)
                        return Icd.Trace(r, "vkGetRayTracingShaderGroupHandlesKHR");
                }
                p.Handles = handles = all;
            }
            ulong handleSize = (ulong)handles.Length / p.GroupCount;
            ulong start = firstGroup * handleSize, bytes = groupCount * handleSize;
            if ((ulong)firstGroup + groupCount > p.GroupCount || dataSize < bytes)
            {
                IcdLog.Error($"vkGetRayTracingShaderGroupHandlesKHR: groups {firstGroup}+{groupCount} of {p.GroupCount} into {dataSize} bytes");
                return VkResult.VK_ERROR_UNKNOWN;
            }
            handles.AsSpan((int)start, (int)bytes).CopyTo(new Span<byte>(pData, (int)bytes));
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetRayTracingShaderGroupHandlesKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkDestroyPipeline(ulong device, ulong pipeline, VkAllocationCallbacks* pAllocator)
    {
        try
        {
            var dev = Dev(device);
            dev.RayTracingPipelines.TryRemove(pipeline, out _);
            Sends.vkDestroyPipeline(dev.Ring, device, pipeline, null);
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkDestroyPipeline");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkCreateDeferredOperationKHR(ulong device, VkAllocationCallbacks* pAllocator, ulong* pDeferredOperation)
    {
        try
        {
            var dev = Dev(device);
            ulong id = dev.Instance.NewObjectId();
            dev.DeferredOperations[id] = VkResult.VK_SUCCESS;
            *pDeferredOperation = id;
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkCreateDeferredOperationKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkDestroyDeferredOperationKHR(ulong device, ulong operation, VkAllocationCallbacks* pAllocator)
    {
        try
        {
            Dev(device).DeferredOperations.TryRemove(operation, out _);
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkDestroyDeferredOperationKHR");
        }
    }

    // Nothing is ever pending, so no thread can help: 0 says joining does no work.
    [UnmanagedCallersOnly]
    private static uint vkGetDeferredOperationMaxConcurrencyKHR(ulong device, ulong operation) => 0;

    [UnmanagedCallersOnly]
    private static VkResult vkGetDeferredOperationResultKHR(ulong device, ulong operation)
    {
        try
        {
            return Dev(device).DeferredOperations.TryGetValue(operation, out VkResult r) ? r : VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetDeferredOperationResultKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkDeferredOperationJoinKHR(ulong device, ulong operation) => VkResult.VK_SUCCESS;
}
