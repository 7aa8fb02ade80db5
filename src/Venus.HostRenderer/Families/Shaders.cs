using Venus.HostRenderer.Context;
using Venus.HostRenderer.Native;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer;

/// <summary>
/// Shader code and shader stages a driver trusts. lavapipe compiles whatever SPIR-V a pipeline
/// names, and mutated modules faulted in vkCreateGraphicsPipelines and vkCreateComputePipelines
/// (found by the lavapipe fuzz target; the spec makes invalid SPIR-V undefined behaviour). Every
/// module is checked before the driver sees it (<see cref="SpirvTools.Check"/>): in
/// vkCreateShaderModule and where a stage carries its code inline (a VkShaderModuleCreateInfo in
/// the stage's pNext). Every stage of a pipeline must then be one stage bit of the kind the
/// pipeline has, once per graphics pipeline, name an entry point of that execution model in its
/// module, and keep its specialization constants inside their data; a ray tracing pipeline's shader
/// groups must index stages of the kinds their slots take. Any breach ends the context.
/// </summary>
internal sealed unsafe partial class Handlers
{
    const uint StageCompute = 0x20;
    const uint GraphicsStages = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x40 | 0x80;

    /// <summary>The entry points (stage bit, name) of every live shader module, the descriptors each uses, and its device, by driver handle.</summary>
    readonly Dictionary<ulong, ShaderModuleInfo> _modules = new();

    internal readonly record struct ShaderModuleInfo(ulong Device, (uint Stage, byte[] Name)[] EntryPoints, SpirvResources.Resource[][] Resources);

    /// <summary>The Vulkan version of <paramref name="device"/>'s physical device (0 when unknown).</summary>
    uint DeviceApiVersion(Dispatcher x, ulong device)
    {
        var state = DeviceOf(device);
        if (state == null || x.InstanceFunctions == null || x.InstanceFunctions->vkGetPhysicalDeviceProperties == null) return 0;
        VkPhysicalDeviceProperties props = default;
        x.InstanceFunctions->vkGetPhysicalDeviceProperties(state.PhysicalDevice, &props);
        return props.apiVersion;
    }

    /// <summary>Null when the module is one the driver may see; else why not.</summary>
    static string? ModuleError(VkShaderModuleCreateInfo* ci, uint apiVersion, uint locationLimit)
        => SpirvTools.Check(ci->pCode, ci->codeSize, apiVersion, locationLimit);

    /// <summary>
    /// One more than the largest Location any shader interface of <paramref name="device"/> has
    /// (vertex inputs, each stage's input and output components in vec4s, fragment outputs); 0 when
    /// the device's limits are unknown or zero (the fuzz targets' stub driver).
    /// </summary>
    uint LocationLimit(Dispatcher x, ulong device)
    {
        if (!DeviceLimits(x, device, out var l)) return 0;
        uint components = Math.Max(Math.Max(Math.Max(l.maxVertexOutputComponents, l.maxFragmentInputComponents), Math.Max(l.maxGeometryInputComponents, l.maxGeometryOutputComponents)),
            Math.Max(Math.Max(l.maxTessellationControlPerVertexInputComponents, l.maxTessellationControlPerVertexOutputComponents),
                Math.Max(l.maxTessellationControlPerPatchOutputComponents, Math.Max(l.maxTessellationEvaluationInputComponents, l.maxTessellationEvaluationOutputComponents))));
        return Math.Max(Math.Max(l.maxVertexInputAttributes, (components + 3) / 4), Math.Max(l.maxFragmentOutputAttachments, l.maxColorAttachments));
    }

    internal partial bool vkCreateShaderModuleCheck(Dispatcher x, vkCreateShaderModule.Args* a)
    {
        if (a->pCreateInfo == null || a->pShaderModule == null) return Fatal("vkCreateShaderModule without a create info or a module id");
        if (ModuleError(a->pCreateInfo, DeviceApiVersion(x, a->device), LocationLimit(x, a->device)) is { } why) return Fatal($"vkCreateShaderModule: {why}");
        return true;
    }

    /// <summary>
    /// A created module's entry points and the descriptors each uses, for the stage checks of
    /// pipelines and their layout checks (host.xml &lt;after&gt;).
    /// </summary>
    internal partial void vkCreateShaderModuleAfter(Dispatcher x, vkCreateShaderModule.Args* a, ulong handle)
    {
        var ci = a->pCreateInfo;
        var entryPoints = SpirvTools.EntryPoints(ci->pCode, (int)(ci->codeSize / 4));
        var resources = new SpirvResources.Resource[entryPoints.Length][];
        for (int e = 0; e < entryPoints.Length; e++)
            resources[e] = SpirvResources.Used(ci->pCode, (int)(ci->codeSize / 4), entryPoints[e].Stage, entryPoints[e].Name);
        lock (_modules) _modules[handle] = new ShaderModuleInfo(a->device, entryPoints, resources);
    }

    internal partial void vkDestroyShaderModuleAfter(Dispatcher x, vkDestroyShaderModule.Args* a, ulong handle)
    {
        lock (_modules) _modules.Remove(handle);
    }

    /// <summary>A destroyed device's modules are gone with it.</summary>
    void ForgetShaderModules(ulong device)
    {
        lock (_modules)
            foreach (var (module, e) in _modules)
                if (e.Device == device) _modules.Remove(module);
    }

    /// <summary>
    /// One stage of a pipeline: <paramref name="allowed"/> holds the stage bits its pipeline may have
    /// (<paramref name="seen"/> those earlier stages of a graphics pipeline used). Null when valid.
    /// </summary>
    string? StageError(VkPipelineShaderStageCreateInfo* s, uint allowed, ref uint seen, uint apiVersion, uint locationLimit)
    {
        uint stage = (uint)s->stage;
        if (stage == 0 || (stage & (stage - 1)) != 0 || (stage & allowed) == 0) return $"stage 0x{stage:x} is not one stage this pipeline may have";
        if ((seen & stage) != 0) return $"stage 0x{stage:x} appears twice";
        seen |= stage;
        if (s->pName == null) return "a stage without an entry point name";
        var name = System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpanFromNullTerminated(s->pName);
        if (SpecializationError(s->pSpecializationInfo) is { } spec) return spec;
        VkShaderModuleCreateInfo* inline = null;
        bool identifier = false;
        for (var p = (VnChainHeader*)s->pNext; p != null; p = (VnChainHeader*)p->pNext)
        {
            if (p->sType == (int)VkShaderModuleCreateInfo.SType) inline = (VkShaderModuleCreateInfo*)p;
            else if (p->sType == (int)VkStructureType.VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_MODULE_IDENTIFIER_CREATE_INFO_EXT) identifier = true;
        }
        if (s->module != 0)
        {
            if (inline != null) return "a stage with both a module and inline code";
            ShaderModuleInfo module;
            bool known;
            lock (_modules) known = _modules.TryGetValue(s->module, out module);
            if (known && !HasEntryPoint(module.EntryPoints, stage, name))
                return $"the module has no entry point \"{System.Text.Encoding.UTF8.GetString(name)}\" for stage 0x{stage:x}";
            return null;
        }
        if (inline != null)
        {
            if (ModuleError(inline, apiVersion, locationLimit) is { } why) return $"inline code: {why}";
            if (!HasEntryPoint(SpirvTools.EntryPoints(inline->pCode, (int)(inline->codeSize / 4)), stage, name))
                return $"the inline code has no entry point \"{System.Text.Encoding.UTF8.GetString(name)}\" for stage 0x{stage:x}";
            return null;
        }
        return identifier ? null : "a stage with no module, inline code or module identifier";
    }

    static bool HasEntryPoint((uint Stage, byte[] Name)[] entryPoints, uint stage, ReadOnlySpan<byte> name)
    {
        foreach (var (s, n) in entryPoints)
            if (s == stage && name.SequenceEqual(n)) return true;
        return false;
    }

    /// <summary>VkSpecializationInfo's rules: arrays present for their counts, each entry inside pData, constant ids unique.</summary>
    static string? SpecializationError(VkSpecializationInfo* info)
    {
        if (info == null) return null;
        if (info->mapEntryCount != 0 && info->pMapEntries == null) return $"{info->mapEntryCount} specialization entries without their array";
        if (info->dataSize != 0 && info->pData == null) return $"{info->dataSize} bytes of specialization data without the data";
        for (uint i = 0; i < info->mapEntryCount; i++)
        {
            var e = &info->pMapEntries[i];
            if (e->offset >= info->dataSize || e->size > info->dataSize - e->offset)
                return $"specialization entry {i}: {e->size} bytes at offset {e->offset} of {info->dataSize}";
            for (uint o = 0; o < i; o++)
                if (info->pMapEntries[o].constantID == e->constantID) return $"specialization constant {e->constantID} is given twice";
        }
        return null;
    }

    internal partial bool vkCreateComputePipelinesCheck(Dispatcher x, vkCreateComputePipelines.Args* a)
    {
        if (a->createInfoCount != 0 && (a->pCreateInfos == null || a->pPipelines == null)) return Fatal($"vkCreateComputePipelines: {a->createInfoCount} create infos without their arrays");
        if (a->createInfoCount > (uint)_ctx.Objects.Cap) return Fatal($"vkCreateComputePipelines: {a->createInfoCount} pipelines");
        uint apiVersion = DeviceApiVersion(x, a->device), locationLimit = a->createInfoCount == 0 ? 0 : LocationLimit(x, a->device);
        for (uint i = 0; i < a->createInfoCount; i++)
        {
            uint seen = 0;
            if (StageError(&a->pCreateInfos[i].stage, StageCompute, ref seen, apiVersion, locationLimit) is { } why)
                return Fatal($"vkCreateComputePipelines: create info {i}: {why}");
            if (PipelineResourcesError(&a->pCreateInfos[i].stage, 1, a->pCreateInfos[i].layout, 1, a->pPipelines[i], a->device) is { } resources)
                return Fatal($"vkCreateComputePipelines: create info {i}: {resources}");
        }
        return true;
    }

    const uint RayTracingStages = 0x100 | 0x200 | 0x400 | 0x800 | 0x1000 | 0x2000;
    const uint ShaderUnused = 0xffffffffu;

    internal partial bool vkCreateRayTracingPipelinesKHRCheck(Dispatcher x, vkCreateRayTracingPipelinesKHR.Args* a)
    {
        if (a->createInfoCount != 0 && (a->pCreateInfos == null || a->pPipelines == null)) return Fatal($"vkCreateRayTracingPipelinesKHR: {a->createInfoCount} create infos without their arrays");
        if (a->createInfoCount > (uint)_ctx.Objects.Cap) return Fatal($"vkCreateRayTracingPipelinesKHR: {a->createInfoCount} pipelines");
        uint apiVersion = a->createInfoCount == 0 ? 0 : DeviceApiVersion(x, a->device), locationLimit = a->createInfoCount == 0 ? 0 : LocationLimit(x, a->device);
        for (uint i = 0; i < a->createInfoCount; i++)
        {
            if (RayTracingError(&a->pCreateInfos[i], apiVersion, locationLimit) is { } why) return Fatal($"vkCreateRayTracingPipelinesKHR: create info {i}: {why}");
            var ci = &a->pCreateInfos[i];
            if (PipelineResourcesError(ci->pStages, ci->stageCount, ci->layout, 2, a->pPipelines[i], a->device) is { } resources)
                return Fatal($"vkCreateRayTracingPipelinesKHR: create info {i}: {resources}");
        }
        return true;
    }

    /// <summary>
    /// A ray tracing pipeline's stages (ray tracing stages, each checked as any stage; a stage may
    /// repeat) and its shader groups, whose indices a driver follows into pStages: each used index
    /// below stageCount and naming a stage of the kind its slot takes, unused slots
    /// VK_SHADER_UNUSED_KHR as the group's type requires. Null when valid.
    /// </summary>
    string? RayTracingError(VkRayTracingPipelineCreateInfoKHR* ci, uint apiVersion, uint locationLimit)
    {
        if (ci->stageCount != 0 && ci->pStages == null) return $"{ci->stageCount} stages without their array";
        if (ci->groupCount != 0 && ci->pGroups == null) return $"{ci->groupCount} groups without their array";
        for (uint s = 0; s < ci->stageCount; s++)
        {
            uint seen = 0;
            if (StageError(&ci->pStages[s], RayTracingStages, ref seen, apiVersion, locationLimit) is { } why) return $"stage {s}: {why}";
        }
        string? Slot(uint index, uint stages, bool required, uint group, string slot)
        {
            if (index == ShaderUnused) return required ? $"group {group}: no {slot} shader" : null;
            if (index >= ci->stageCount) return $"group {group}: {slot} shader {index} of {ci->stageCount} stages";
            return ((uint)ci->pStages[index].stage & stages) == 0 ? $"group {group}: {slot} shader {index} is stage 0x{(uint)ci->pStages[index].stage:x}" : null;
        }
        for (uint g = 0; g < ci->groupCount; g++)
        {
            var group = &ci->pGroups[g];
            bool general = group->type == VkRayTracingShaderGroupTypeKHR.VK_RAY_TRACING_SHADER_GROUP_TYPE_GENERAL_KHR;
            bool procedural = group->type == VkRayTracingShaderGroupTypeKHR.VK_RAY_TRACING_SHADER_GROUP_TYPE_PROCEDURAL_HIT_GROUP_KHR;
            string? why = general
                ? Slot(group->generalShader, 0x100 | 0x800 | 0x2000, true, g, "general")
                    ?? (group->closestHitShader != ShaderUnused || group->anyHitShader != ShaderUnused || group->intersectionShader != ShaderUnused ? $"group {g}: a general group with hit shaders" : null)
                : (group->generalShader != ShaderUnused ? $"group {g}: a hit group with a general shader" : null)
                    ?? Slot(group->closestHitShader, 0x400, false, g, "closest hit")
                    ?? Slot(group->anyHitShader, 0x200, false, g, "any hit")
                    ?? (procedural ? Slot(group->intersectionShader, 0x1000, true, g, "intersection")
                        : group->intersectionShader != ShaderUnused ? $"group {g}: a triangles group with an intersection shader" : null);
            if (why != null) return why;
        }
        return null;
    }

    /// <summary>The stages of one graphics pipeline create info (null when valid).</summary>
    string? GraphicsStagesError(VkGraphicsPipelineCreateInfo* ci, uint apiVersion, uint locationLimit)
    {
        if (ci->stageCount != 0 && ci->pStages == null) return $"{ci->stageCount} stages without their array";
        uint seen = 0;
        for (uint s = 0; s < ci->stageCount; s++)
            if (StageError(&ci->pStages[s], GraphicsStages, ref seen, apiVersion, locationLimit) is { } why) return $"stage {s}: {why}";
        return null;
    }
}
