using System.Collections.Concurrent;
using Venus.HostRenderer.Context;
using Venus.HostRenderer.Native;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer;

/// <summary>
/// Pipeline layouts, and the state a draw, dispatch or trace runs with, as a driver trusts them.
/// lavapipe faulted (host process, tests/clients/rules/rules.c on the peers chroot's lavapipe) creating a
/// pipeline whose shader used a descriptor set the layout lacks; running a dispatch or draw with no
/// pipeline bound, with a set the pipeline uses not bound or bound from an incompatible layout, or
/// whose storage image the layout called a storage buffer; and running a vkCmdPushConstants at offset
/// 0x40000000. So:
/// <list type="bullet">
/// <item>each pipeline layout's set layouts and push-constant ranges are kept (ranges inside the
/// device's maxPushConstantsSize, at most maxBoundDescriptorSets sets);</item>
/// <item>a pipeline's stages must find every descriptor their entry point uses (set, binding) in its
/// layout, with a type the variable's SPIR-V type allows and at least its array size
/// (VUID-VkComputePipelineCreateInfo-layout-07988/07990/07991, graphics and ray tracing likewise;
/// <see cref="SpirvResources"/>);</item>
/// <item>per command buffer (<see cref="CommandBufferState"/>), the pipeline bound at each bind
/// point and the set layout of each bound set: a draw, dispatch or trace needs a live pipeline of its
/// bind point, and each set that pipeline uses bound from a layout identical to the pipeline
/// layout's; vkCmdBindDescriptorSets' sets must be compatible with the layout it names, inside its
/// set count, with one dynamic offset per dynamic descriptor;</item>
/// <item>vkCmdPushConstants' bytes inside ranges of the layout that hold every stage named, and the
/// stages named all those of each range the bytes touch (VUID-vkCmdPushConstants-offset-01795/01796).</item>
/// </list>
/// Any breach ends the context. The per-command cost is a compare with the dispatcher's last
/// command buffer and a flag: the set check runs at the first draw after a bind.
/// </summary>
internal sealed unsafe partial class Handlers
{
    const int ObjPipelineLayout = 17, ObjPipelineId = 19;
    /// <summary>Bind points tracked: graphics, compute, ray tracing.</summary>
    const int BindPoints = 3;
    /// <summary>Most sets a pipeline layout may have here (the device's maxBoundDescriptorSets is also checked).</summary>
    const int MaxSets = 32;

    /// <summary>A pipeline layout: the set layout of each set (null: VK_NULL_HANDLE or unknown), its push-constant ranges.</summary>
    internal sealed class PipelineLayoutInfo(SetLayout?[] sets, VkPushConstantRange[] ranges, ulong device)
    {
        public readonly SetLayout?[] Sets = sets;
        public readonly VkPushConstantRange[] Ranges = ranges;
        public readonly ulong Device = device;
    }

    /// <summary>A pipeline: its bind point (0 graphics, 1 compute, 2 ray tracing), the sets its stages use, its layout.</summary>
    internal sealed class PipelineInfo(int bindPoint, uint setMask, PipelineLayoutInfo? layout, ulong device)
    {
        public readonly ulong Device = device;
        public readonly int BindPoint = bindPoint;
        public readonly uint SetMask = setMask;
        public readonly PipelineLayoutInfo? Layout = layout;
        public volatile bool Destroyed;
    }

    /// <summary>What one command buffer has bound since its vkBeginCommandBuffer; reused by every recording.</summary>
    internal sealed class CommandBufferState(ulong handle, ulong pool, ulong device)
    {
        public readonly ulong Handle = handle;
        /// <summary>Guest ids of its command pool and device.</summary>
        public readonly ulong Pool = pool, Device = device;
        public volatile bool Live = true;
        /// <summary>Ended since its last vkBeginCommandBuffer: the only state a submit may name it in.</summary>
        public volatile bool Executable;
        /// <summary>Its device's maxViewports: the bound of vkCmdSetViewport and vkCmdSetScissor.</summary>
        public uint MaxViewports = 16;
        public readonly PipelineInfo?[] Pipelines = new PipelineInfo?[BindPoints];
        public readonly SetLayout?[] Sets = new SetLayout?[BindPoints * MaxSets];
        /// <summary>Per bind point: the bound sets were checked against the bound pipeline since the last bind.</summary>
        public readonly bool[] Checked = new bool[BindPoints];

        public void Reset()
        {
            Array.Clear(Pipelines);
            Array.Clear(Sets);
            Array.Clear(Checked);
        }
    }

    readonly ConcurrentDictionary<ulong, PipelineLayoutInfo> _pipelineLayouts = new();
    /// <summary>Pipelines by guest id (filled by the creation checks, before the driver gives a handle) and by driver handle (filled at the first bind).</summary>
    readonly Dictionary<ulong, PipelineInfo> _pipelinesById = new();
    readonly ConcurrentDictionary<ulong, PipelineInfo> _pipelinesByHandle = new();
    readonly ConcurrentDictionary<ulong, CommandBufferState> _commandBuffers = new();

    static int BindPointIndex(VkPipelineBindPoint bp) => (int)bp switch { 0 => 0, 1 => 1, 1000165000 => 2, _ => -1 };

    // ---- pipeline layouts ------------------------------------------------------------------------

    public bool vkCreatePipelineLayout(Dispatcher x, vkCreatePipelineLayout.Args* a)
    {
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkCreatePipelineLayout == null) return Fatal("vkCreatePipelineLayout: no device function");
        var ci = a->pCreateInfo;
        if (ci == null || a->pPipelineLayout == null) return Fatal("vkCreatePipelineLayout without a create info or a layout id");
        if (PipelineLayoutError(x, a->device, ci, out var info) is { } why) return Fatal($"vkCreatePipelineLayout: {why}");
        ulong layout = 0;
        a->ret = fns->vkCreatePipelineLayout(a->device, ci, null, &layout);
        if ((int)a->ret < 0 || layout == 0)
        {
            *a->pPipelineLayout = 0;
            return true;
        }
        if (!x.Register(*a->pPipelineLayout, layout, ObjPipelineLayout))
        {
            fns->vkDestroyPipelineLayout(a->device, layout, null);
            return false;
        }
        _pipelineLayouts[layout] = info!;
        return true;
    }

    /// <summary>The spec's limits on a pipeline layout: set count, push-constant ranges inside maxPushConstantsSize, 4-byte aligned, with stages, each stage in one range at most.</summary>
    string? PipelineLayoutError(Dispatcher x, ulong device, VkPipelineLayoutCreateInfo* ci, out PipelineLayoutInfo? info)
    {
        info = null;
        if (ci->setLayoutCount != 0 && ci->pSetLayouts == null) return $"{ci->setLayoutCount} set layouts without their array";
        if (ci->pushConstantRangeCount != 0 && ci->pPushConstantRanges == null) return $"{ci->pushConstantRangeCount} push-constant ranges without their array";
        DeviceLimits(x, device, out var limits);
        uint maxSets = limits.maxBoundDescriptorSets == 0 ? MaxSets : Math.Min(limits.maxBoundDescriptorSets, MaxSets);
        if (ci->setLayoutCount > maxSets) return $"{ci->setLayoutCount} set layouts (at most {maxSets})";
        // A driver that reports no limit (the fuzz targets' stub driver) gets 256 bytes, above the spec's minimum of 128.
        uint maxPush = limits.maxPushConstantsSize == 0 ? 256 : limits.maxPushConstantsSize;
        if (ci->pushConstantRangeCount > 64) return $"{ci->pushConstantRangeCount} push-constant ranges";
        var ranges = new VkPushConstantRange[ci->pushConstantRangeCount];
        uint stagesSeen = 0;
        for (uint i = 0; i < ci->pushConstantRangeCount; i++)
        {
            var r = ci->pPushConstantRanges[i];
            if (r.offset % 4 != 0 || r.size == 0 || r.size % 4 != 0 || r.offset >= maxPush || r.size > maxPush - r.offset)
                return $"push-constant range {i}: {r.size} bytes at offset {r.offset} (the device has {maxPush}, multiples of 4)";
            if (r.stageFlags == 0) return $"push-constant range {i} has no stages";
            if ((stagesSeen & r.stageFlags) != 0) return $"push-constant range {i} names a stage an earlier range has";
            stagesSeen |= r.stageFlags;
            ranges[i] = r;
        }
        var sets = new SetLayout?[ci->setLayoutCount];
        lock (_sets)
            for (uint i = 0; i < ci->setLayoutCount; i++)
                if (ci->pSetLayouts[i] != 0) _setLayouts.TryGetValue(ci->pSetLayouts[i], out sets[i]);
        info = new PipelineLayoutInfo(sets, ranges, device);
        return null;
    }

    public bool vkDestroyPipelineLayout(Dispatcher x, vkDestroyPipelineLayout.Args* a)
    {
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkDestroyPipelineLayout == null) return Fatal("vkDestroyPipelineLayout: no device function");
        if (a->pipelineLayout == 0) return true;
        if (!_ctx.Retire.BeforeDestroy(a->device, "vkDestroyPipelineLayout")) return false;
        fns->vkDestroyPipelineLayout(a->device, a->pipelineLayout, null);
        x.Unregister(a->pipelineLayout, ObjPipelineLayout);
        _pipelineLayouts.TryRemove(a->pipelineLayout, out _);
        return true;
    }

    /// <summary>A destroyed device's layouts, pipelines and command buffers are gone with it.</summary>
    void ForgetBoundState(ulong device, ulong deviceId)
    {
        foreach (var (layout, info) in _pipelineLayouts)
            if (info.Device == device) _pipelineLayouts.TryRemove(layout, out _);
        lock (_pipelinesById)
            foreach (var (id, info) in _pipelinesById)
                if (info.Device == device) _pipelinesById.Remove(id);
        foreach (var (handle, info) in _pipelinesByHandle)
            if (info.Device == device) _pipelinesByHandle.TryRemove(handle, out _);
        foreach (var (cb, state) in _commandBuffers)
            if (state.Device == deviceId) ForgetCommandBuffer(cb);
    }

    // ---- pipelines ---------------------------------------------------------------------------------

    /// <summary>
    /// The descriptors the stage's entry point uses against <paramref name="layout"/>; adds their sets
    /// to <paramref name="setMask"/>. Null when every one is in the layout with a fitting type and count.
    /// </summary>
    string? StageResourcesError(VkPipelineShaderStageCreateInfo* s, PipelineLayoutInfo layout, ref uint setMask)
    {
        SpirvResources.Resource[]? resources = null;
        var name = System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpanFromNullTerminated(s->pName);
        if (s->module != 0)
        {
            lock (_modules)
                if (_modules.TryGetValue(s->module, out var m))
                    for (int e = 0; e < m.EntryPoints.Length && resources == null; e++)
                        if (m.EntryPoints[e].Stage == (uint)s->stage && name.SequenceEqual(m.EntryPoints[e].Name)) resources = m.Resources[e];
        }
        else
        {
            for (var p = (VnChainHeader*)s->pNext; p != null; p = (VnChainHeader*)p->pNext)
                if (p->sType == (int)VkShaderModuleCreateInfo.SType)
                {
                    var inline = (VkShaderModuleCreateInfo*)p;
                    resources = SpirvResources.Used(inline->pCode, (int)(inline->codeSize / 4), (uint)s->stage, name);
                }
        }
        if (resources == null) return null;
        foreach (var r in resources)
        {
            string where = $"stage 0x{(uint)s->stage:x} uses set {r.Set} binding {r.Binding}";
            if (r.Set >= layout.Sets.Length) return $"{where}, and the layout has {layout.Sets.Length} sets";
            var set = layout.Sets[r.Set];
            if (set == null) return $"{where}, and the layout's set {r.Set} is VK_NULL_HANDLE";
            int i = set.Find(r.Binding);
            if (i < 0 || set.Bindings[i].Count == 0) return $"{where}, which set {r.Set}'s layout does not have";
            var b = set.Bindings[i];
            if (!SpirvResources.Allows(r.Kind, b.Type)) return $"{where} as {r.Kind}, which the layout makes descriptor type {b.Type}";
            if (r.Count > b.Count) return $"{where} as an array of {r.Count}, which the layout makes {b.Count} descriptors";
            if (r.Set < MaxSets) setMask |= 1u << (int)r.Set;
        }
        return null;
    }

    /// <summary>
    /// The stages of one pipeline against its layout (a layout unknown here is left to the driver);
    /// on success the pipeline's bind point and sets are kept under the guest's id for its binds.
    /// </summary>
    string? PipelineResourcesError(VkPipelineShaderStageCreateInfo* stages, uint stageCount, ulong layoutHandle, int bindPoint, ulong guestId, ulong device)
    {
        _pipelineLayouts.TryGetValue(layoutHandle, out var layout);
        uint setMask = 0;
        if (layout != null && stages != null)
            for (uint s = 0; s < stageCount; s++)
                if (StageResourcesError(&stages[s], layout, ref setMask) is { } why) return $"stage {s}: {why}";
        if (guestId == 0) return null;
        lock (_pipelinesById)
        {
            // Entries of ids whose creation failed stay until the id is used again: sweep past the cap.
            if (_pipelinesById.Count >= _ctx.Objects.Cap)
                foreach (var id in _pipelinesById.Keys.ToArray())
                    if (!_ctx.Objects.TryGet(id, ObjPipelineId, out _)) _pipelinesById.Remove(id);
            _pipelinesById[guestId] = new PipelineInfo(bindPoint, setMask, layout, device);
        }
        return null;
    }

    internal partial bool vkDestroyPipelineCheck(Dispatcher x, vkDestroyPipeline.Args* a)
    {
        if (a->pipeline == 0) return true;
        ulong id = _ctx.Objects.IdOf(a->pipeline, ObjPipelineId);
        PipelineInfo? info;
        lock (_pipelinesById)
            if (_pipelinesById.Remove(id, out info)) info.Destroyed = true;
        if (_pipelinesByHandle.TryRemove(a->pipeline, out info)) info.Destroyed = true;
        return true;
    }

    PipelineInfo? PipelineOf(ulong handle)
    {
        if (_pipelinesByHandle.TryGetValue(handle, out var info)) return info;
        ulong id = _ctx.Objects.IdOf(handle, ObjPipelineId);
        lock (_pipelinesById)
            if (!_pipelinesById.TryGetValue(id, out info)) return null;
        _pipelinesByHandle[handle] = info;
        return info;
    }

    // ---- command buffers ---------------------------------------------------------------------------

    /// <summary>The state of <paramref name="commandBuffer"/>: the dispatcher's last one, else the table's (null when never begun).</summary>
    CommandBufferState? StateOf(Dispatcher x, ulong commandBuffer)
    {
        var cached = x.LastCommandBuffer;
        if (cached != null && cached.Handle == commandBuffer && cached.Live) return cached;
        if (!_commandBuffers.TryGetValue(commandBuffer, out var state)) return null;
        x.LastCommandBuffer = state;
        return state;
    }

    internal partial bool vkBeginCommandBufferCheck(Dispatcher x, vkBeginCommandBuffer.Args* a)
    {
        var state = StateOf(x, a->commandBuffer);
        if (state == null)
        {
            if (_commandBuffers.Count >= _ctx.Objects.Cap) return Fatal($"vkBeginCommandBuffer: {_commandBuffers.Count} command buffers recorded");
            // The dispatcher translated the command buffer first: its parent is its pool, the pool's its device.
            ulong pool = _ctx.Objects.TryGet(x.FirstId, ObjCommandBuffer, out var cb) ? cb.Parent : 0;
            ulong device = _ctx.Objects.TryGet(pool, ObjCommandPool, out var p) ? p.Parent : 0;
            state = new CommandBufferState(a->commandBuffer, pool, device);
            state.MaxViewports = MaxViewportsOf(x, device);
            _commandBuffers[a->commandBuffer] = state;
            x.LastCommandBuffer = state;
        }
        state.Reset();
        state.Executable = false;
        return true;
    }

    /// <summary>
    /// vkEndCommandBuffer makes a recording executable. A submit of one that is still recording (or
    /// was never begun) is refused: lavapipe ran such a buffer's half-built command list and faulted
    /// (found by the lavapipe fuzz target). VUID-VkSubmitInfo-pCommandBuffers-00070.
    /// </summary>
    internal partial bool vkEndCommandBufferCheck(Dispatcher x, vkEndCommandBuffer.Args* a)
    {
        if (StateOf(x, a->commandBuffer) is { } state) state.Executable = true;
        return true;
    }

    /// <summary>Null when <paramref name="commandBuffer"/> (a driver handle) may be submitted; else why not.</summary>
    string? SubmitError(ulong commandBuffer)
    {
        if (!_commandBuffers.TryGetValue(commandBuffer, out var state) || !state.Live) return $"command buffer 0x{_ctx.Objects.IdOf(commandBuffer, ObjCommandBuffer):x} was never recorded";
        return state.Executable ? null : $"command buffer 0x{_ctx.Objects.IdOf(commandBuffer, ObjCommandBuffer):x} is still recording (no vkEndCommandBuffer)";
    }

    /// <summary>maxViewports of the device with guest id <paramref name="deviceId"/>, asked for once per device (16 when unknown).</summary>
    uint MaxViewportsOf(Dispatcher x, ulong deviceId)
    {
        DeviceState? ds;
        lock (_devLock) _devices.TryGetValue(deviceId, out ds);
        if (ds == null) return 16;
        if (ds.MaxViewports == 0 && x.InstanceFunctions != null && x.InstanceFunctions->vkGetPhysicalDeviceProperties != null)
        {
            VkPhysicalDeviceProperties props = default;
            x.InstanceFunctions->vkGetPhysicalDeviceProperties(ds.PhysicalDevice, &props);
            // A driver that reports none (the fuzz targets' stub driver): 16, the least a device with multiViewport has.
            ds.MaxViewports = props.limits.maxViewports != 0 ? props.limits.maxViewports : 16;
        }
        return ds.MaxViewports != 0 ? ds.MaxViewports : 16;
    }

    /// <summary>
    /// Viewports and scissors set while recording stay inside the device's maxViewports
    /// (VUID-vkCmdSetViewport-firstViewport-01223 and the scissor and with-count forms): lavapipe keeps
    /// them in fixed arrays of its maximum.
    /// </summary>
    bool ViewportRange(Dispatcher x, ulong commandBuffer, uint first, uint count, string command)
    {
        uint max = StateOf(x, commandBuffer)?.MaxViewports ?? 16;
        if (first > max || count > max - first) return Fatal($"{command}: viewports or scissors {first} to {(ulong)first + count} (the device has {max})");
        return true;
    }

    internal partial bool vkCmdSetViewportCheck(Dispatcher x, vkCmdSetViewport.Args* a) => ViewportRange(x, a->commandBuffer, a->firstViewport, a->viewportCount, "vkCmdSetViewport");
    internal partial bool vkCmdSetScissorCheck(Dispatcher x, vkCmdSetScissor.Args* a) => ViewportRange(x, a->commandBuffer, a->firstScissor, a->scissorCount, "vkCmdSetScissor");
    internal partial bool vkCmdSetViewportWithCountCheck(Dispatcher x, vkCmdSetViewportWithCount.Args* a) => ViewportRange(x, a->commandBuffer, 0, a->viewportCount, "vkCmdSetViewportWithCount");
    internal partial bool vkCmdSetScissorWithCountCheck(Dispatcher x, vkCmdSetScissorWithCount.Args* a) => ViewportRange(x, a->commandBuffer, 0, a->scissorCount, "vkCmdSetScissorWithCount");

    /// <summary>Freed command buffers lose their state (vkFreeCommandBuffers, and every buffer of a destroyed pool).</summary>
    void ForgetCommandBuffer(ulong handle)
    {
        if (_commandBuffers.TryRemove(handle, out var state)) state.Live = false;
    }

    void ForgetPoolCommandBuffers(ulong poolId)
    {
        foreach (var (cb, state) in _commandBuffers)
            if (state.Pool == poolId) ForgetCommandBuffer(cb);
    }

    internal partial bool vkCmdBindPipelineCheck(Dispatcher x, vkCmdBindPipeline.Args* a)
    {
        int bp = BindPointIndex(a->pipelineBindPoint);
        if (bp < 0) return true;
        var state = StateOf(x, a->commandBuffer);
        if (state == null) return Fatal("vkCmdBindPipeline: the command buffer was not begun");
        var info = PipelineOf(a->pipeline);
        if (info != null && info.BindPoint != bp) return Fatal($"vkCmdBindPipeline: a pipeline of bind point {info.BindPoint} bound at {bp}");
        // A pipeline this host kept nothing of is taken as using no set (kept, so that a bind allocates once).
        if (info == null) _pipelinesByHandle[a->pipeline] = info = new PipelineInfo(bp, 0, null, 0);
        state.Pipelines[bp] = info;
        state.Checked[bp] = false;
        return true;
    }

    /// <summary>Records sets bound through <paramref name="layoutHandle"/> at bind point(s) <paramref name="bpMask"/>, checking them against the layout.</summary>
    bool BindSets(Dispatcher x, ulong commandBuffer, int bpMask, ulong layoutHandle, uint firstSet, uint count, ulong* sets, uint dynamicOffsetCount, string command)
    {
        var state = StateOf(x, commandBuffer);
        if (state == null) return Fatal($"{command}: the command buffer was not begun");
        if (count != 0 && sets == null) return Fatal($"{command}: {count} sets without their array");
        _pipelineLayouts.TryGetValue(layoutHandle, out var layout);
        if (layout != null && (firstSet > layout.Sets.Length || count > layout.Sets.Length - firstSet))
            return Fatal($"{command}: sets {firstSet}+{count} of a layout of {layout.Sets.Length}");
        if (firstSet >= MaxSets || count > MaxSets - firstSet) return Fatal($"{command}: sets {firstSet}+{count}");
        uint dynamic = 0;
        for (uint i = 0; i < count; i++)
        {
            SetLayout? bound = null;
            if (sets[i] != 0)
            {
                lock (_sets) if (_sets.TryGetValue(sets[i], out var s)) bound = s.Layout;
                if (bound != null)
                {
                    if (layout != null && layout.Sets[firstSet + i] is { } expected && !Compatible(bound, expected))
                        return Fatal($"{command}: set {firstSet + i} was allocated from a layout unlike the pipeline layout's set {firstSet + i}");
                    foreach (var b in bound.Bindings)
                        if (b.Type is 8 or 9) dynamic += b.Count;
                }
            }
            for (int bp = 0; bp < BindPoints; bp++)
                if ((bpMask & (1 << bp)) != 0) state.Sets[bp * MaxSets + (int)(firstSet + i)] = bound;
        }
        if (dynamic != dynamicOffsetCount) return Fatal($"{command}: {dynamicOffsetCount} dynamic offsets for {dynamic} dynamic descriptors");
        for (int bp = 0; bp < BindPoints; bp++)
            if ((bpMask & (1 << bp)) != 0) state.Checked[bp] = false;
        return true;
    }

    /// <summary>Identically defined set layouts (the spec's compatibility of sets), the same object first.</summary>
    static bool Compatible(SetLayout a, SetLayout b) => ReferenceEquals(a, b) || a.Bindings.AsSpan().SequenceEqual(b.Bindings);

    /// <summary>The bind points (bits 0 graphics, 1 compute, 2 ray tracing) of a stage mask.</summary>
    static int BindPointsOf(uint stages) => ((stages & GraphicsStages) != 0 ? 1 : 0) | ((stages & StageCompute) != 0 ? 2 : 0) | ((stages & RayTracingStages) != 0 ? 4 : 0);

    internal partial bool vkCmdBindDescriptorSetsCheck(Dispatcher x, vkCmdBindDescriptorSets.Args* a)
    {
        int bp = BindPointIndex(a->pipelineBindPoint);
        return BindSets(x, a->commandBuffer, bp < 0 ? 0 : 1 << bp, a->layout, a->firstSet, a->descriptorSetCount, a->pDescriptorSets, a->dynamicOffsetCount, "vkCmdBindDescriptorSets");
    }

    internal partial bool vkCmdBindDescriptorSets2Check(Dispatcher x, vkCmdBindDescriptorSets2.Args* a)
    {
        var info = a->pBindDescriptorSetsInfo;
        if (info == null) return Fatal("vkCmdBindDescriptorSets2 without its info");
        return BindSets(x, a->commandBuffer, BindPointsOf(info->stageFlags), info->layout, info->firstSet, info->descriptorSetCount, info->pDescriptorSets, info->dynamicOffsetCount, "vkCmdBindDescriptorSets2");
    }

    /// <summary>A pushed set is the layout's own set: bound for the bind points given.</summary>
    bool PushSet(Dispatcher x, ulong commandBuffer, int bpMask, ulong layoutHandle, uint set, string command)
    {
        var state = StateOf(x, commandBuffer);
        if (state == null) return Fatal($"{command}: the command buffer was not begun");
        _pipelineLayouts.TryGetValue(layoutHandle, out var layout);
        if (layout != null && set >= layout.Sets.Length) return Fatal($"{command}: set {set} of a layout of {layout.Sets.Length}");
        if (set >= MaxSets) return Fatal($"{command}: set {set}");
        for (int bp = 0; bp < BindPoints; bp++)
            if ((bpMask & (1 << bp)) != 0)
            {
                state.Sets[bp * MaxSets + (int)set] = layout?.Sets[set];
                state.Checked[bp] = false;
            }
        return true;
    }

    internal partial bool vkCmdPushDescriptorSetCheck(Dispatcher x, vkCmdPushDescriptorSet.Args* a)
    {
        int bp = BindPointIndex(a->pipelineBindPoint);
        return PushSet(x, a->commandBuffer, bp < 0 ? 0 : 1 << bp, a->layout, a->set, "vkCmdPushDescriptorSet");
    }

    internal partial bool vkCmdPushDescriptorSet2Check(Dispatcher x, vkCmdPushDescriptorSet2.Args* a)
    {
        var info = a->pPushDescriptorSetInfo;
        if (info == null) return Fatal("vkCmdPushDescriptorSet2 without its info");
        return PushSet(x, a->commandBuffer, BindPointsOf(info->stageFlags), info->layout, info->set, "vkCmdPushDescriptorSet2");
    }

    /// <summary>
    /// Before a draw (bind point 0), dispatch (1) or trace (2): a live pipeline bound there, and each
    /// set it uses bound from a layout identical to its layout's (checked once after each bind).
    /// </summary>
    bool Ready(Dispatcher x, ulong commandBuffer, int bp, string command)
    {
        var state = StateOf(x, commandBuffer);
        var pipeline = state?.Pipelines[bp];
        if (pipeline == null || pipeline.Destroyed)
            return Fatal($"{command}: no {(bp == 0 ? "graphics" : bp == 1 ? "compute" : "ray tracing")} pipeline is bound{(pipeline != null ? " (it was destroyed)" : state == null ? " (the command buffer was not begun)" : "")}");
        if (state!.Checked[bp]) return true;
        return CheckSets(state, pipeline, bp, command);
    }

    bool CheckSets(CommandBufferState state, PipelineInfo pipeline, int bp, string command)
    {
        for (uint mask = pipeline.SetMask; mask != 0; mask &= mask - 1)
        {
            int set = System.Numerics.BitOperations.TrailingZeroCount(mask);
            var bound = state.Sets[bp * MaxSets + set];
            if (bound == null) return Fatal($"{command}: the pipeline uses set {set}, which is not bound");
            if (pipeline.Layout?.Sets[set] is { } expected && !Compatible(bound, expected))
                return Fatal($"{command}: set {set} is bound from a layout unlike the pipeline's");
        }
        state.Checked[bp] = true;
        return true;
    }

    internal partial bool vkCmdDrawCheck(Dispatcher x, vkCmdDraw.Args* a) => Ready(x, a->commandBuffer, 0, "vkCmdDraw");
    internal partial bool vkCmdDrawIndexedCheck(Dispatcher x, vkCmdDrawIndexed.Args* a) => Ready(x, a->commandBuffer, 0, "vkCmdDrawIndexed");
    internal partial bool vkCmdDrawIndirectCheck(Dispatcher x, vkCmdDrawIndirect.Args* a) => Ready(x, a->commandBuffer, 0, "vkCmdDrawIndirect");
    internal partial bool vkCmdDrawIndexedIndirectCheck(Dispatcher x, vkCmdDrawIndexedIndirect.Args* a) => Ready(x, a->commandBuffer, 0, "vkCmdDrawIndexedIndirect");
    internal partial bool vkCmdDrawIndirectCountCheck(Dispatcher x, vkCmdDrawIndirectCount.Args* a) => Ready(x, a->commandBuffer, 0, "vkCmdDrawIndirectCount");
    internal partial bool vkCmdDrawIndexedIndirectCountCheck(Dispatcher x, vkCmdDrawIndexedIndirectCount.Args* a) => Ready(x, a->commandBuffer, 0, "vkCmdDrawIndexedIndirectCount");
    internal partial bool vkCmdDrawIndirectByteCountEXTCheck(Dispatcher x, vkCmdDrawIndirectByteCountEXT.Args* a) => Ready(x, a->commandBuffer, 0, "vkCmdDrawIndirectByteCountEXT");
    internal partial bool vkCmdDrawMultiEXTCheck(Dispatcher x, vkCmdDrawMultiEXT.Args* a) => Ready(x, a->commandBuffer, 0, "vkCmdDrawMultiEXT");
    internal partial bool vkCmdDrawMultiIndexedEXTCheck(Dispatcher x, vkCmdDrawMultiIndexedEXT.Args* a) => Ready(x, a->commandBuffer, 0, "vkCmdDrawMultiIndexedEXT");
    internal partial bool vkCmdDrawMeshTasksEXTCheck(Dispatcher x, vkCmdDrawMeshTasksEXT.Args* a) => Ready(x, a->commandBuffer, 0, "vkCmdDrawMeshTasksEXT");
    internal partial bool vkCmdDrawMeshTasksIndirectEXTCheck(Dispatcher x, vkCmdDrawMeshTasksIndirectEXT.Args* a) => Ready(x, a->commandBuffer, 0, "vkCmdDrawMeshTasksIndirectEXT");
    internal partial bool vkCmdDrawMeshTasksIndirectCountEXTCheck(Dispatcher x, vkCmdDrawMeshTasksIndirectCountEXT.Args* a) => Ready(x, a->commandBuffer, 0, "vkCmdDrawMeshTasksIndirectCountEXT");
    internal partial bool vkCmdDispatchCheck(Dispatcher x, vkCmdDispatch.Args* a) => Ready(x, a->commandBuffer, 1, "vkCmdDispatch");
    internal partial bool vkCmdDispatchBaseCheck(Dispatcher x, vkCmdDispatchBase.Args* a) => Ready(x, a->commandBuffer, 1, "vkCmdDispatchBase");
    internal partial bool vkCmdDispatchIndirectCheck(Dispatcher x, vkCmdDispatchIndirect.Args* a) => Ready(x, a->commandBuffer, 1, "vkCmdDispatchIndirect");
    internal partial bool vkCmdTraceRaysKHRCheck(Dispatcher x, vkCmdTraceRaysKHR.Args* a) => Ready(x, a->commandBuffer, 2, "vkCmdTraceRaysKHR");
    internal partial bool vkCmdTraceRaysIndirectKHRCheck(Dispatcher x, vkCmdTraceRaysIndirectKHR.Args* a) => Ready(x, a->commandBuffer, 2, "vkCmdTraceRaysIndirectKHR");
    internal partial bool vkCmdTraceRaysIndirect2KHRCheck(Dispatcher x, vkCmdTraceRaysIndirect2KHR.Args* a) => Ready(x, a->commandBuffer, 2, "vkCmdTraceRaysIndirect2KHR");

    /// <summary>The spec leaves every bound state of a primary undefined after vkCmdExecuteCommands: it must bind again.</summary>
    internal partial bool vkCmdExecuteCommandsCheck(Dispatcher x, vkCmdExecuteCommands.Args* a)
    {
        var state = StateOf(x, a->commandBuffer);
        if (state == null) return Fatal("vkCmdExecuteCommands: the command buffer was not begun");
        state.Reset();
        return true;
    }

    // ---- push constants ----------------------------------------------------------------------------

    /// <summary>VUID-vkCmdPushConstants-offset-01795/01796 against the layout's ranges; null when valid.</summary>
    static string? PushConstantsError(VkPushConstantRange[] ranges, uint stages, uint offset, uint size, void* values)
    {
        if (stages == 0) return "no stages";
        if (size == 0 || offset % 4 != 0 || size % 4 != 0) return $"{size} bytes at offset {offset} (multiples of 4, at least 4)";
        if (values == null) return "no values";
        ulong end = (ulong)offset + size;
        uint covered = 0;
        foreach (var r in ranges)
        {
            ulong rEnd = (ulong)r.offset + r.size;
            bool overlaps = offset < rEnd && r.offset < end;
            if (!overlaps) continue;
            if ((r.stageFlags & ~stages) != 0) return $"bytes {offset}+{size} touch a range of stages 0x{r.stageFlags:x}, not all of them named (0x{stages:x})";
            if (r.offset <= offset && end <= rEnd) covered |= r.stageFlags;
        }
        return (covered & stages) == stages ? null : $"bytes {offset}+{size} for stages 0x{stages:x} are not inside ranges of the layout for them";
    }

    internal partial bool vkCmdPushConstantsCheck(Dispatcher x, vkCmdPushConstants.Args* a)
    {
        if (!_pipelineLayouts.TryGetValue(a->layout, out var layout)) return Fatal("vkCmdPushConstants: a pipeline layout this host does not know");
        return PushConstantsError(layout.Ranges, a->stageFlags, a->offset, a->size, a->pValues) is not { } why || Fatal($"vkCmdPushConstants: {why}");
    }

    internal partial bool vkCmdPushConstants2Check(Dispatcher x, vkCmdPushConstants2.Args* a)
    {
        var info = a->pPushConstantsInfo;
        if (info == null) return Fatal("vkCmdPushConstants2 without its info");
        if (!_pipelineLayouts.TryGetValue(info->layout, out var layout)) return Fatal("vkCmdPushConstants2: a pipeline layout this host does not know");
        return PushConstantsError(layout.Ranges, info->stageFlags, info->offset, info->size, info->pValues) is not { } why || Fatal($"vkCmdPushConstants2: {why}");
    }
}
