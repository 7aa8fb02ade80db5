using Venus.GuestIcd.Generated;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Families;

/// <summary>Hand-written commands of ray tracing (Runtime/RayTracing.cs): host-side builds refused, local deferred operations, cached group handles. See Families/IcdCommands.cs for how to add one.</summary>
internal static unsafe partial class IcdCommands
{
    internal static partial VkResult vkBuildAccelerationStructuresKHR(ulong device, ulong deferredOperation, uint infoCount, VkAccelerationStructureBuildGeometryInfoKHR* pInfos, VkAccelerationStructureBuildRangeInfoKHR** ppBuildRangeInfos) => RayTracing.Refuse("vkBuildAccelerationStructuresKHR");

    internal static partial VkResult vkCopyAccelerationStructureToMemoryKHR(ulong device, ulong deferredOperation, VkCopyAccelerationStructureToMemoryInfoKHR* pInfo) => RayTracing.Refuse("vkCopyAccelerationStructureToMemoryKHR");

    internal static partial VkResult vkCopyMemoryToAccelerationStructureKHR(ulong device, ulong deferredOperation, VkCopyMemoryToAccelerationStructureInfoKHR* pInfo) => RayTracing.Refuse("vkCopyMemoryToAccelerationStructureKHR");

    internal static partial VkResult vkCopyAccelerationStructureKHR(ulong device, ulong deferredOperation, VkCopyAccelerationStructureInfoKHR* pInfo) => RayTracing.Refuse("vkCopyAccelerationStructureKHR");

    internal static partial VkResult vkWriteAccelerationStructuresPropertiesKHR(ulong device, uint accelerationStructureCount, ulong* pAccelerationStructures, VkQueryType queryType, nuint dataSize, void* pData, nuint stride) => RayTracing.Refuse("vkWriteAccelerationStructuresPropertiesKHR");

    internal static partial VkResult vkCreateRayTracingPipelinesKHR(ulong device, ulong deferredOperation, ulong pipelineCache, uint createInfoCount,
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
                dev.RayTracingPipelines[pPipelines[i]] = new RayTracingPipeline(RayTracing.GroupCount(dev, &pCreateInfos[i]));
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

    internal static partial VkResult vkGetRayTracingShaderGroupHandlesKHR(ulong device, ulong pipeline, uint firstGroup, uint groupCount, nuint dataSize, void* pData)
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

    internal static partial void vkDestroyPipeline(ulong device, ulong pipeline, VkAllocationCallbacks* pAllocator)
    {
        var dev = Dev(device);
        dev.RayTracingPipelines.TryRemove(pipeline, out _);
        Sends.vkDestroyPipeline(dev.Ring, device, pipeline, null);
    }

    internal static partial VkResult vkCreateDeferredOperationKHR(ulong device, VkAllocationCallbacks* pAllocator, ulong* pDeferredOperation)
    {
        var dev = Dev(device);
        ulong id = dev.Instance.NewObjectId();
        dev.DeferredOperations[id] = VkResult.VK_SUCCESS;
        *pDeferredOperation = id;
        return VkResult.VK_SUCCESS;
    }

    internal static partial void vkDestroyDeferredOperationKHR(ulong device, ulong operation, VkAllocationCallbacks* pAllocator)
    {
        Dev(device).DeferredOperations.TryRemove(operation, out _);
    }

    internal static partial uint vkGetDeferredOperationMaxConcurrencyKHR(ulong device, ulong operation) => 0;

    internal static partial VkResult vkGetDeferredOperationResultKHR(ulong device, ulong operation)
    {
        return Dev(device).DeferredOperations.TryGetValue(operation, out VkResult r) ? r : VkResult.VK_SUCCESS;
    }

    internal static partial VkResult vkDeferredOperationJoinKHR(ulong device, ulong operation) => VkResult.VK_SUCCESS;
}
