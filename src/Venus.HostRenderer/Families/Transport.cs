using Venus.HostRenderer.Context;
using Venus.HostRenderer.Rings;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer;

/// <summary>VK_MESA_venus_protocol: reply streams, indirect streams, rings and seqno waits (§3, §4).</summary>
internal sealed unsafe partial class Handlers
{
    public bool vkSetReplyCommandStreamMESA(Dispatcher x, vkSetReplyCommandStreamMESA.Args* a)
        => x.SetReplyStream(a->pStream->resourceId, a->pStream->offset, a->pStream->size);

    public bool vkSeekReplyCommandStreamMESA(Dispatcher x, vkSeekReplyCommandStreamMESA.Args* a)
        => x.SeekReplyStream(a->position);

    public bool vkExecuteCommandStreamsMESA(Dispatcher x, vkExecuteCommandStreamsMESA.Args* a)
    {
        if (x.InExecute) return Fatal("vkExecuteCommandStreamsMESA inside another one");
        if (a->streamCount == 0) return Fatal("vkExecuteCommandStreamsMESA with no streams");
        // The streams live in guest-shared memory: copy each before decoding so the guest cannot change it underneath.
        var copies = new byte[a->streamCount][];
        for (uint i = 0; i < a->streamCount; i++)
        {
            var s = a->pStreams[i];
            if (!_ctx.TryGetResource(s.resourceId, out var r) || s.offset > r.Size || s.size > r.Size - s.offset)
                return Fatal($"vkExecuteCommandStreamsMESA: stream {i} outside resource {s.resourceId}");
            copies[i] = new ReadOnlySpan<byte>(r.Map + s.offset, checked((int)s.size)).ToArray();
        }
        x.InExecute = true;
        try
        {
            for (uint i = 0; i < a->streamCount; i++)
            {
                if (a->pReplyPositions != null && !x.SeekReplyStream(a->pReplyPositions[i])) return false;
                if (!x.Execute(copies[i])) return false;
            }
        }
        finally
        {
            x.InExecute = false;
        }
        return true;
    }

    public bool vkCreateRingMESA(Dispatcher x, vkCreateRingMESA.Args* a) => _ctx.CreateRing(a->ring, a->pCreateInfo);

    public bool vkDestroyRingMESA(Dispatcher x, vkDestroyRingMESA.Args* a) => _ctx.DestroyRing(a->ring, x);

    public bool vkNotifyRingMESA(Dispatcher x, vkNotifyRingMESA.Args* a)
    {
        if (!_ctx.TryGetRing(a->ring, out var ring)) return Fatal($"vkNotifyRingMESA: unknown ring 0x{a->ring:x}");
        ring.Notify();
        return true;
    }

    public bool vkWriteRingExtraMESA(Dispatcher x, vkWriteRingExtraMESA.Args* a)
    {
        if (!_ctx.TryGetRing(a->ring, out var ring)) return Fatal($"vkWriteRingExtraMESA: unknown ring 0x{a->ring:x}");
        return ring.WriteExtra(a->offset, a->value) || Fatal("vkWriteRingExtraMESA: outside the extra region");
    }

    public bool vkSubmitVirtqueueSeqnoMESA(Dispatcher x, vkSubmitVirtqueueSeqnoMESA.Args* a)
    {
        if (!_ctx.TryGetRing(a->ring, out var ring)) return Fatal($"vkSubmitVirtqueueSeqnoMESA: unknown ring 0x{a->ring:x}");
        ring.SubmitVirtqueueSeqno(a->seqno);
        return true;
    }

    public bool vkWaitVirtqueueSeqnoMESA(Dispatcher x, vkWaitVirtqueueSeqnoMESA.Args* a)
    {
        if (x.Ring == null) return Fatal("vkWaitVirtqueueSeqnoMESA outside a ring");
        // A guest may wait for a seqno it never submits: the wait then ends with the context's teardown.
        try { return x.Ring.WaitVirtqueueSeqno(a->seqno, _ctx.Stopping) || Fatal("vkWaitVirtqueueSeqnoMESA: the context is stopping"); }
        catch (OperationCanceledException) { return Fatal($"vkWaitVirtqueueSeqnoMESA: the context stopped before seqno {a->seqno}"); }
    }

    public bool vkWaitRingSeqnoMESA(Dispatcher x, vkWaitRingSeqnoMESA.Args* a)
    {
        if (!_ctx.TryGetRing(a->ring, out var ring)) return Fatal($"vkWaitRingSeqnoMESA: unknown ring 0x{a->ring:x}");
        try { return ring.WaitForSeqno((uint)a->seqno, _ctx.Stopping) || Fatal($"vkWaitRingSeqnoMESA: ring 0x{a->ring:x} stopped before seqno {a->seqno}"); }
        catch (OperationCanceledException) { return Fatal($"vkWaitRingSeqnoMESA: the context stopped before ring 0x{a->ring:x} reached seqno {a->seqno}"); }
    }

    public bool vkGetMemoryResourcePropertiesMESA(Dispatcher x, vkGetMemoryResourcePropertiesMESA.Args* a)
        => MemoryResourceProperties(a); // Families/ExternalMemory.cs

    public bool vkResetFenceResourceMESA(Dispatcher x, vkResetFenceResourceMESA.Args* a)
    {
        // Exporting a sync_fd from a fence leaves it unsignalled.
        ulong fence = a->fence;
        x.DeviceFunctions->vkResetFences(a->device, 1, &fence);
        return true;
    }

    public bool vkWriteSamplerDescriptorMESA(Dispatcher x, vkWriteSamplerDescriptorMESA.Args* a)
        => Fatal("vkWriteSamplerDescriptorMESA: descriptor heaps are not offered by this host");

    /// <summary>Destroys what the guest left: devices (with their memory), then the instance.</summary>
    public void DestroyAll()
    {
        DestroyAllDevices();
        if (_instance != 0 && _instanceTable >= 0 && !_deviceLeftBusy)
        {
            _ctx.SelectTables(_instanceTable, out var fns, out _);
            fns->vkDestroyInstance(_instance, null);
            _instance = 0;
            _instanceId = 0;
        }
    }
}
