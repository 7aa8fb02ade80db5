using Venus.HostRenderer.Context;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer;

/// <summary>
/// Graphics pipeline state a driver trusts: lavapipe stores each vertex attribute at its location
/// and reads the binding description it names without checking either, so an attribute of location
/// 4278190082 and a binding no description has was a host-process fault (found by the lavapipe fuzz
/// target). The spec's rules for VkPipelineVertexInputStateCreateInfo are checked before the driver
/// sees a create info: locations below maxVertexInputAttributes and each used once, bindings below
/// maxVertexInputBindings and each described once, every attribute's binding described. Its shader
/// stages are checked as Families/Shaders.cs says. Any breach ends the context.
/// </summary>
internal sealed unsafe partial class Handlers
{
    internal partial bool vkCreateGraphicsPipelinesCheck(Dispatcher x, vkCreateGraphicsPipelines.Args* a)
    {
        if (a->createInfoCount != 0 && (a->pCreateInfos == null || a->pPipelines == null)) return Fatal($"vkCreateGraphicsPipelines: {a->createInfoCount} create infos without their arrays");
        if (a->createInfoCount > (uint)_ctx.Objects.Cap) return Fatal($"vkCreateGraphicsPipelines: {a->createInfoCount} pipelines");
        VkPhysicalDeviceLimits limits = default;
        bool haveLimits = false;
        uint apiVersion = a->createInfoCount == 0 ? 0 : DeviceApiVersion(x, a->device), locationLimit = a->createInfoCount == 0 ? 0 : LocationLimit(x, a->device);
        for (uint i = 0; i < a->createInfoCount; i++)
        {
            if (GraphicsStagesError(&a->pCreateInfos[i], apiVersion, locationLimit) is { } stages) return Fatal($"vkCreateGraphicsPipelines: create info {i}: {stages}");
            var ci = &a->pCreateInfos[i];
            if (PipelineResourcesError(ci->pStages, ci->stageCount, ci->layout, 0, a->pPipelines[i], a->device) is { } resources)
                return Fatal($"vkCreateGraphicsPipelines: create info {i}: {resources}");
            var vi = a->pCreateInfos[i].pVertexInputState;
            var vp = a->pCreateInfos[i].pViewportState;
            if (vi == null && vp == null) continue;
            if (!haveLimits)
            {
                if (!DeviceLimits(x, a->device, out limits)) return Fatal("vkCreateGraphicsPipelines: the device's limits are unknown");
                haveLimits = true;
            }
            if (vi != null && VertexInputError(vi, limits) is { } why) return Fatal($"vkCreateGraphicsPipelines: create info {i}: {why}");
            if (vp != null && ViewportStateError(vp, limits) is { } vpWhy) return Fatal($"vkCreateGraphicsPipelines: create info {i}: {vpWhy}");
        }
        return true;
    }

    /// <summary>The physical-device limits of <paramref name="device"/> (a device of this context).</summary>
    bool DeviceLimits(Dispatcher x, ulong device, out VkPhysicalDeviceLimits limits)
    {
        limits = default;
        DeviceState? state;
        lock (_devLock) state = _devices.Values.FirstOrDefault(d => d.Handle == device);
        if (state == null || x.InstanceFunctions == null || x.InstanceFunctions->vkGetPhysicalDeviceProperties == null) return false;
        VkPhysicalDeviceProperties props = default;
        x.InstanceFunctions->vkGetPhysicalDeviceProperties(state.PhysicalDevice, &props);
        limits = props.limits;
        return true;
    }

    /// <summary>
    /// The viewport state: at most maxViewports viewports and scissors (VUID-VkPipelineViewportStateCreateInfo-viewportCount-01218,
    /// -scissorCount-01219), their arrays present when given (checked by the decoder). lavapipe sizes
    /// its viewport state by the count without a bound: a count of 238 was a host-process fault at the
    /// first draw (found by the lavapipe fuzz target).
    /// </summary>
    static string? ViewportStateError(VkPipelineViewportStateCreateInfo* vp, VkPhysicalDeviceLimits limits)
    {
        // A driver that reports no limit (the fuzz targets' stub driver) gets 16, the least a device with multiViewport has.
        uint max = limits.maxViewports != 0 ? limits.maxViewports : 16;
        if (vp->viewportCount > max) return $"{vp->viewportCount} viewports (the device has {max})";
        if (vp->scissorCount > max) return $"{vp->scissorCount} scissors (the device has {max})";
        return null;
    }

    static string? VertexInputError(VkPipelineVertexInputStateCreateInfo* vi, VkPhysicalDeviceLimits limits)
    {
        // A driver that reports no vertex input limits (the fuzz targets' stub driver) gets the
        // structural rules only.
        if (limits.maxVertexInputBindings == 0) limits.maxVertexInputBindings = uint.MaxValue;
        if (limits.maxVertexInputAttributes == 0) limits.maxVertexInputAttributes = uint.MaxValue;
        if (vi->vertexBindingDescriptionCount > limits.maxVertexInputBindings) return $"{vi->vertexBindingDescriptionCount} vertex bindings (the device has {limits.maxVertexInputBindings})";
        if (vi->vertexAttributeDescriptionCount > limits.maxVertexInputAttributes) return $"{vi->vertexAttributeDescriptionCount} vertex attributes (the device has {limits.maxVertexInputAttributes})";
        if ((vi->vertexBindingDescriptionCount != 0 && vi->pVertexBindingDescriptions == null) || (vi->vertexAttributeDescriptionCount != 0 && vi->pVertexAttributeDescriptions == null))
            return "a vertex input count without its array";
        for (uint b = 0; b < vi->vertexBindingDescriptionCount; b++)
        {
            uint binding = vi->pVertexBindingDescriptions[b].binding;
            if (binding >= limits.maxVertexInputBindings) return $"vertex binding {binding} (the device has {limits.maxVertexInputBindings})";
            for (uint o = 0; o < b; o++)
                if (vi->pVertexBindingDescriptions[o].binding == binding) return $"vertex binding {binding} is described twice";
        }
        for (uint i = 0; i < vi->vertexAttributeDescriptionCount; i++)
        {
            var attr = &vi->pVertexAttributeDescriptions[i];
            if (attr->location >= limits.maxVertexInputAttributes) return $"vertex attribute location {attr->location} (the device has {limits.maxVertexInputAttributes})";
            for (uint o = 0; o < i; o++)
                if (vi->pVertexAttributeDescriptions[o].location == attr->location) return $"vertex attribute location {attr->location} is used twice";
            bool described = false;
            for (uint b = 0; b < vi->vertexBindingDescriptionCount && !described; b++)
                described = vi->pVertexBindingDescriptions[b].binding == attr->binding;
            if (!described) return $"vertex attribute {attr->location} reads binding {attr->binding}, which no binding description has";
        }
        return null;
    }
}
