using Venus.HostRenderer.Context;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer;

/// <summary>
/// Queue submits, each tracked by a host fence (<see cref="SubmitRetire"/>) so that destruction of
/// objects the queue work may still use waits until it is done. The guest's own fence, when it
/// passed one, is kept; the host's then follows in an empty submit.
/// </summary>
internal sealed unsafe partial class Handlers
{
    /// <summary>The device handle of the queue a submit was decoded for (its parent in the object table).</summary>
    bool QueueDevice(Dispatcher x, string what, out ulong device)
    {
        device = 0;
        if (_ctx.Objects.TryGet(x.FirstId, out var queue) && queue.Type == ObjQueue
            && _ctx.Objects.TryGet(queue.Parent, out var dev) && dev.Type == ObjDevice)
            device = dev.Handle;
        if (device == 0 || x.DeviceFunctions == null) return Fatal($"{what}: the queue belongs to no known device");
        return true;
    }

    /// <summary>After a guest submit that carried its own fence: the host's follows in an empty submit.</summary>
    static bool TrailingFence(VkDeviceFunctions* fns, ulong queue, ulong fence) =>
        fns->vkQueueSubmit(queue, 0, null, fence) == VkResult.VK_SUCCESS;

    public bool vkQueueSubmit(Dispatcher x, vkQueueSubmit.Args* a)
    {
        if (!QueueDevice(x, "vkQueueSubmit", out ulong device)) return false;
        var fns = x.DeviceFunctions;
        if (fns->vkQueueSubmit == null) return x.MissingFunction(18);
        for (uint i = 0; i < a->submitCount; i++)
            for (uint c = 0; c < a->pSubmits[i].commandBufferCount; c++)
                if (SubmitError(a->pSubmits[i].pCommandBuffers[c]) is { } why) return Fatal($"vkQueueSubmit: submit {i}: {why}");
        ulong host = _ctx.Retire.BeginSubmit(a->queue, device, fns, out int slot);
        bool tracked = false;
        try
        {
            if (host == 0) return false;
            a->ret = fns->vkQueueSubmit(a->queue, a->submitCount, a->pSubmits, a->fence != 0 ? a->fence : host);
            tracked = a->ret == VkResult.VK_SUCCESS && (a->fence == 0 || TrailingFence(fns, a->queue, host));
        }
        finally
        {
            _ctx.Retire.EndSubmit(a->queue, slot, tracked);
        }
        return true;
    }

    public bool vkQueueSubmit2(Dispatcher x, vkQueueSubmit2.Args* a)
    {
        if (!QueueDevice(x, "vkQueueSubmit2", out ulong device)) return false;
        var fns = x.DeviceFunctions;
        if (fns->vkQueueSubmit2 == null) return x.MissingFunction(206);
        for (uint i = 0; i < a->submitCount; i++)
            for (uint c = 0; c < a->pSubmits[i].commandBufferInfoCount; c++)
                if (SubmitError(a->pSubmits[i].pCommandBufferInfos[c].commandBuffer) is { } why) return Fatal($"vkQueueSubmit2: submit {i}: {why}");
        ulong host = _ctx.Retire.BeginSubmit(a->queue, device, fns, out int slot);
        bool tracked = false;
        try
        {
            if (host == 0) return false;
            a->ret = fns->vkQueueSubmit2(a->queue, a->submitCount, a->pSubmits, a->fence != 0 ? a->fence : host);
            tracked = a->ret == VkResult.VK_SUCCESS && (a->fence == 0 || TrailingFence(fns, a->queue, host));
        }
        finally
        {
            _ctx.Retire.EndSubmit(a->queue, slot, tracked);
        }
        return true;
    }

    public bool vkQueueBindSparse(Dispatcher x, vkQueueBindSparse.Args* a)
    {
        if (!QueueDevice(x, "vkQueueBindSparse", out ulong device)) return false;
        var fns = x.DeviceFunctions;
        if (fns->vkQueueBindSparse == null) return x.MissingFunction(34);
        ulong host = _ctx.Retire.BeginSubmit(a->queue, device, fns, out int slot);
        bool tracked = false;
        try
        {
            if (host == 0) return false;
            a->ret = fns->vkQueueBindSparse(a->queue, a->bindInfoCount, a->pBindInfo, a->fence != 0 ? a->fence : host);
            tracked = a->ret == VkResult.VK_SUCCESS && (a->fence == 0 || TrailingFence(fns, a->queue, host));
        }
        finally
        {
            _ctx.Retire.EndSubmit(a->queue, slot, tracked);
        }
        return true;
    }

    /// <summary>
    /// An empty submit with a fence of its own under the queue lock, then the wait outside it, in
    /// slices (a context that ends meanwhile gets its thread back): other rings' submits to other
    /// queues, which the waited work may depend on, and the timeline fences go on meanwhile.
    /// </summary>
    public bool vkQueueWaitIdle(Dispatcher x, vkQueueWaitIdle.Args* a)
    {
        if (!QueueDevice(x, "vkQueueWaitIdle", out ulong device)) return false;
        ulong queue = a->queue;
        return WaitQueuesIdle(x, device, &queue, 1, "vkQueueWaitIdle", out a->ret);
    }

    /// <summary>
    /// vkQueueWaitIdle of every queue of the device that has had guest submits (the spec's own
    /// definition of vkDeviceWaitIdle), not the driver's vkDeviceWaitIdle: that would block this
    /// thread with the queue lock held for as long as the device is busy, which for a submit that
    /// waits on a value nobody signals is for ever, stopping the context's other threads' queue
    /// calls and its teardown; this wait is sliced and holds the lock only to submit.
    /// </summary>
    public bool vkDeviceWaitIdle(Dispatcher x, vkDeviceWaitIdle.Args* a)
    {
        const int MaxQueues = 64;
        ulong* queues = stackalloc ulong[MaxQueues];
        int n = _ctx.Retire.QueuesOf(a->device, new Span<ulong>(queues, MaxQueues));
        if (n == MaxQueues)
        {
            // More queues than this path tracks: the driver's own wait, under the lock.
            var fns = x.DeviceFunctions;
            if (fns == null || fns->vkDeviceWaitIdle == null) return x.MissingFunction(20);
            lock (_ctx.Retire.QueueLock) a->ret = fns->vkDeviceWaitIdle(a->device);
            return true;
        }
        return WaitQueuesIdle(x, a->device, queues, n, "vkDeviceWaitIdle", out a->ret);
    }

    /// <summary>An empty submit with a fence of this host's own to each queue (under the queue lock), then one sliced wait for all of them.</summary>
    bool WaitQueuesIdle(Dispatcher x, ulong device, ulong* queues, int count, string command, out VkResult result)
    {
        result = VkResult.VK_SUCCESS;
        if (count == 0) return true;
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkQueueSubmit == null || fns->vkCreateFence == null || fns->vkWaitForFences == null)
            return Fatal($"{command}: no device function");
        ulong* fences = stackalloc ulong[count];
        int made = 0;
        try
        {
            var info = new VkFenceCreateInfo { sType = VkFenceCreateInfo.SType };
            for (; made < count; made++)
            {
                fences[made] = 0;
                result = fns->vkCreateFence(device, &info, null, &fences[made]);
                if (result != VkResult.VK_SUCCESS) return true;
                lock (_ctx.Retire.QueueLock) result = fns->vkQueueSubmit(queues[made], 0, null, fences[made]);
                if (result != VkResult.VK_SUCCESS) { made++; return true; }
            }
            return WaitForFencesInSlices(fns, device, (uint)count, fences, 1, ulong.MaxValue, command, out result);
        }
        finally
        {
            for (int i = 0; i < made; i++)
                if (fences[i] != 0) fns->vkDestroyFence(device, fences[i], null);
        }
    }
}
