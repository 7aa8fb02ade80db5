using Venus.Native;
using Venus.HostRenderer.Rings;
using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer.Context;

/// <summary>Rings, timelines and the vtest-facing operations of a context.</summary>
internal sealed unsafe partial class HostContext
{
    readonly Dictionary<ulong, (HostRing Ring, Dispatcher Dispatcher, Resource Resource)> _rings = new();
    RingMonitor? _monitor;
    readonly CancellationTokenSource _stopping = new();
    public CancellationToken Stopping => _stopping.Token;
    static int s_nextContext;
    public uint Number { get; } = (uint)Interlocked.Increment(ref s_nextContext);

    public bool TryGetRing(ulong id, out HostRing ring)
    {
        lock (_rings)
        {
            if (_rings.TryGetValue(id, out var e)) { ring = e.Ring; return true; }
        }
        ring = null!;
        return false;
    }

    public bool CreateRing(ulong id, VkRingCreateInfoMESA* info)
    {
        if (!TryGetResource(info->resourceId, out var r)) { Fatal($"vkCreateRingMESA: unknown resource {info->resourceId}"); return false; }
        var layout = new RingLayout
        {
            Offset = info->offset, Size = info->size,
            HeadOffset = info->headOffset, TailOffset = info->tailOffset, StatusOffset = info->statusOffset,
            BufferOffset = info->bufferOffset, BufferSize = info->bufferSize,
            ExtraOffset = info->extraOffset, ExtraSize = info->extraSize, IdleTimeoutNs = info->idleTimeout,
        };
        for (var p = (Venus.Protocol.Wire.VnChainHeader*)info->pNext; p != null; p = (Venus.Protocol.Wire.VnChainHeader*)p->pNext)
            if (p->sType == (int)VkRingMonitorInfoMESA.SType)
                layout.MonitorPeriodMicroseconds = ((VkRingMonitorInfoMESA*)p)->maxReportingPeriodMicroseconds;
        lock (_rings)
        {
            if (_rings.ContainsKey(id) || id == 0) { Fatal($"vkCreateRingMESA: ring id 0x{id:x} is 0 or in use"); return false; }
            if (_rings.Count >= 64) { Fatal("vkCreateRingMESA: too many rings"); return false; }
        }
        var dispatcher = new Dispatcher(this, $"ring 0x{id:x}");
        RingDispatch dispatch = (ReadOnlySpan<byte> commands, ref RingCursor cursor) =>
        {
            while (cursor.Remaining > 0 && !cursor.StopRequested)
            {
                int used = dispatcher.ExecuteOne(commands[cursor.Consumed..]);
                if (used <= 0) { cursor.Fail(FatalReason ?? "dispatch failed"); return; }
                cursor.Advance(used);
            }
        };
        if (!HostRing.TryCreate(id, Number, r.Map, r.Size, layout, dispatch, out var ring, out var error))
        {
            dispatcher.Arena.Dispose();
            Fatal($"vkCreateRingMESA: {error}");
            return false;
        }
        dispatcher.Ring = ring;
        dispatcher.RingId = id;
        Pin(r); // the ring thread reads these pages until it has been joined
        ring.Faulted += (_, reason) => Fatal($"ring 0x{id:x}: {reason}");
        lock (_rings) _rings[id] = (ring, dispatcher, r);
        if (layout.MonitorPeriodMicroseconds != null)
        {
            _monitor ??= new RingMonitor(Number);
            _monitor.Add(ring);
        }
        ring.Start();
        return true;
    }

    public bool DestroyRing(ulong id, Dispatcher caller)
    {
        (HostRing Ring, Dispatcher Dispatcher, Resource Resource) e;
        lock (_rings)
        {
            if (!_rings.Remove(id, out e)) { Fatal($"vkDestroyRingMESA: unknown ring 0x{id:x}"); return false; }
        }
        if (caller == e.Dispatcher) { Fatal("vkDestroyRingMESA on the ring itself"); return false; }
        ReleaseRing(e);
        return true;
    }

    /// <summary>Stops and joins the ring thread, then lets go of its memory and reply stream.</summary>
    void ReleaseRing((HostRing Ring, Dispatcher Dispatcher, Resource Resource) e)
    {
        _monitor?.Remove(e.Ring);
        try
        {
            e.Ring.Dispose();
        }
        catch (TimeoutException)
        {
            // The thread is stuck (in the driver): keep its memory mapped rather than pull it away.
            Options.Log($"venus-host: context {Label}: ring 0x{e.Ring.Id:x} did not stop; its memory stays mapped");
            return;
        }
        e.Dispatcher.ClearReplyStream();
        e.Dispatcher.Arena.Dispose();
        Unpin(e.Resource);
    }

    partial void OnFatal()
    {
        // Ring threads stop; waiters wake up.
        lock (_rings) foreach (var e in _rings.Values) e.Ring.Fail("the context is fatal");
    }

    partial void StopRings()
    {
        _stopping.Cancel();
        List<(HostRing Ring, Dispatcher Dispatcher, Resource Resource)> all;
        lock (_rings) { all = _rings.Values.ToList(); _rings.Clear(); }
        foreach (var e in all) ReleaseRing(e);
        _monitor?.Dispose();
        _monitor = null;
    }

    // ---- timelines: vtest ring_idx → queue (§9 "Timelines") ----------------------------------------

    readonly Dictionary<uint, (ulong Queue, ulong Device, nint Fns)> _timelines = new();

    public bool BindTimeline(uint ringIdx, ulong queue, ulong device, VkDeviceFunctions* fns)
    {
        lock (_timelines)
        {
            if (_timelines.TryGetValue(ringIdx, out var t)) return t.Queue == queue;
            _timelines[ringIdx] = (queue, device, (nint)fns);
            return true;
        }
    }

    public void UnbindTimelines(ulong device)
    {
        // Queues of a destroyed device can no longer retire fences.
        lock (_timelines)
            foreach (var k in _timelines.Where(kv => kv.Value.Device == device).Select(kv => kv.Key).ToList())
                _timelines.Remove(k);
    }

    void DestroyVulkanObjects()
    {
        try
        {
            Handlers.DestroyAll();
        }
        catch (Exception e)
        {
            Options.Log($"venus-host: context {Label}: teardown: {e.Message}");
        }
    }

    /// <summary>
    /// A virtqueue submission. Commands run now, in order. The timeline fence retires when the work
    /// queued on the bound queue is done: an empty vkQueueSubmit with a fence (under the queue lock,
    /// as ring threads submit to the same queue), waited for by the timeline's thread (<see cref="TimelineFences"/>).
    /// </summary>
    public void Submit(ReadOnlySpan<byte> stream, uint ringIdx, Action retired)
    {
        if (!IsFatal) Virtqueue.Execute(stream);
        if (ringIdx == 0 || IsFatal) { retired(); return; }
        (ulong Queue, ulong Device, nint Fns) t;
        VkDeviceFunctions* fns;
        ulong fence = 0;
        lock (Retire.QueueLock)
        {
            // Looked up under the queue lock: a device being destroyed unbinds its timelines under it first.
            lock (_timelines)
            {
                if (!_timelines.TryGetValue(ringIdx, out t)) { Fatal($"submit on ring index {ringIdx}, which no queue is bound to"); return; }
            }
            fns = (VkDeviceFunctions*)t.Fns;
            var fci = new VkFenceCreateInfo { sType = VkFenceCreateInfo.SType };
            if (t.Device == 0 || fns->vkCreateFence(t.Device, &fci, null, &fence) != VkResult.VK_SUCCESS) { Fatal("timeline fence creation failed"); return; }
            if (fns->vkQueueSubmit(t.Queue, 0, null, fence) != VkResult.VK_SUCCESS)
            {
                fns->vkDestroyFence(t.Device, fence, null);
                Fatal("timeline fence submission failed");
                return;
            }
        }
        Timelines.Add(ringIdx, t.Device, fns, fence, retired);
    }

    /// <summary>
    /// RESOURCE_CREATE_BLOB (vtest) or CREATE_RESOURCE (render server): shared memory (blob_id 0) or the
    /// memfd of a host-visible VkDeviceMemory. <paramref name="id"/> 0 picks a resource id;
    /// <paramref name="exactFile"/> makes a shared-memory file exactly <paramref name="size"/> bytes.
    /// </summary>
    public Resource? CreateBlob(uint type, uint flags, ulong size, ulong blobId, out string? error, uint id = 0, bool exactFile = false)
    {
        error = null;
        const uint Host3d = 2, Mappable = 1;
        if (type != Host3d) { error = $"blob type {type} is not HOST3D"; return null; }
        if (blobId == 0)
        {
            if (flags != Mappable) { error = $"shared-memory blob with flags {flags} (only MAPPABLE)"; return null; }
            return CreateSharedMemory(size, out error, id, exactFile);
        }
        if (!Handlers.TryExportMemory(blobId, out int fd, out ulong memSize))
        {
            error = $"blob_id 0x{blobId:x} is not host-visible device memory this host can export";
            return null;
        }
        if (size > memSize) { error = $"blob of {size} bytes for memory of {memSize}"; return null; }
        int dup = Libc.Dup(fd);
        if (dup < 0) { error = "dup failed"; return null; }
        var res = new Resource { Fd = dup, Map = null, Size = size, MemoryId = blobId, OwnsMapping = false };
        var r = AddResource(res, id);
        if (r == null) { error = $"resource {id} exists already"; Libc.Close(dup); }
        return r;
    }
}
