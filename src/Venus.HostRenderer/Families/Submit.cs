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
        var fns = x.DeviceFunctions;
        if (fns->vkQueueSubmit == null || fns->vkCreateFence == null) return x.MissingFunction(19);
        var info = new VkFenceCreateInfo { sType = VkFenceCreateInfo.SType };
        ulong fence = 0;
        a->ret = fns->vkCreateFence(device, &info, null, &fence);
        if (a->ret != VkResult.VK_SUCCESS) return true;
        try
        {
            lock (_ctx.Retire.QueueLock) a->ret = fns->vkQueueSubmit(a->queue, 0, null, fence);
            if (a->ret != VkResult.VK_SUCCESS) return true;
            return WaitForFencesInSlices(fns, device, 1, &fence, 1, ulong.MaxValue, "vkQueueWaitIdle", out a->ret);
        }
        finally
        {
            fns->vkDestroyFence(device, fence, null);
        }
    }

    /// <summary>The driver's vkDeviceWaitIdle under the queue lock: it touches every queue of the device, which the guest may not use meanwhile either.</summary>
    public bool vkDeviceWaitIdle(Dispatcher x, vkDeviceWaitIdle.Args* a)
    {
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkDeviceWaitIdle == null) return x.MissingFunction(20);
        lock (_ctx.Retire.QueueLock) a->ret = fns->vkDeviceWaitIdle(a->device);
        return true;
    }
}
