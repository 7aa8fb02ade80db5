using Venus.HostRenderer.Context;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer;

/// <summary>
/// Buffer ranges a driver trusts: lavapipe copies whatever range a recorded vkCmdCopyBuffer names,
/// so a guest's out-of-range region was a host-process fault when the queue ran it (found by the
/// lavapipe fuzz target). Each bind is checked against the allocation (the buffer's memory
/// requirements inside allocationSize, aligned), and the bound size is kept by driver handle; a
/// copy, fill or update on a bound buffer must then stay inside it. Any breach ends the context.
/// A buffer never bound here (sparse) is left to the driver.
/// </summary>
internal sealed unsafe partial class Handlers
{
    const ulong WholeSize = ulong.MaxValue;

    /// <summary>What this context knows of one buffer (by driver handle; host.xml &lt;after&gt; on vkCreateBuffer and vkDestroyBuffer).</summary>
    struct BufferEntry
    {
        /// <summary>Its size as created, where the create went through here: descriptor writes are checked against it.</summary>
        public ulong CreatedSize;
        public bool Created;
        /// <summary>Bytes usable through it once bound (its memory requirements' size): copies, fills and updates are checked against it; 0 while unbound, or where the driver reports no size.</summary>
        public ulong BoundSize;
        public ulong Device;
    }

    readonly Dictionary<ulong, BufferEntry> _buffers = new();

    bool BindBuffer(Dispatcher x, ulong device, ulong buffer, ulong memory, ulong offset, string command)
    {
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkGetBufferMemoryRequirements == null) return Fatal($"{command}: no device function");
        VkMemoryRequirements reqs = default;
        fns->vkGetBufferMemoryRequirements(device, buffer, &reqs);
        if (!FitsAllocation(memory, offset, reqs, command)) return false;
        // A driver that reports no size (the fuzz targets' stub driver) leaves the buffer unchecked.
        if (reqs.size != 0)
            lock (_buffers)
            {
                _buffers.TryGetValue(buffer, out BufferEntry e);
                e.BoundSize = reqs.size;
                e.Device = device;
                _buffers[buffer] = e;
            }
        return true;
    }

    /// <summary>
    /// Whether an object with requirements <paramref name="reqs"/> fits <paramref name="memory"/> (a
    /// driver handle, a live allocation of this context) at <paramref name="offset"/>, aligned; a bind
    /// that does not ends the context.
    /// </summary>
    bool FitsAllocation(ulong memory, ulong offset, in VkMemoryRequirements reqs, string command)
    {
        ulong memoryId = _ctx.Objects.IdOf(memory, ObjDeviceMemory);
        (ulong Size, ulong DeviceId) allocation;
        bool known;
        lock (_allocations) known = _allocations.TryGetValue(memoryId, out allocation);
        if (!known) return Fatal($"{command}: memory 0x{memoryId:x} is not a live allocation of this context");
        if (offset > allocation.Size || reqs.size > allocation.Size - offset)
            return Fatal($"{command}: {reqs.size} bytes at offset {offset} do not fit an allocation of {allocation.Size}");
        if (reqs.alignment != 0 && offset % reqs.alignment != 0)
            return Fatal($"{command}: offset {offset} is not aligned to {reqs.alignment}");
        return true;
    }

    internal partial bool vkBindBufferMemoryCheck(Dispatcher x, vkBindBufferMemory.Args* a) =>
        BindBuffer(x, a->device, a->buffer, a->memory, a->memoryOffset, "vkBindBufferMemory");

    internal partial bool vkBindBufferMemory2Check(Dispatcher x, vkBindBufferMemory2.Args* a)
    {
        if (a->bindInfoCount != 0 && a->pBindInfos == null) return Fatal("vkBindBufferMemory2 without bind infos");
        for (uint i = 0; i < a->bindInfoCount; i++)
        {
            var b = &a->pBindInfos[i];
            if (!BindBuffer(x, a->device, b->buffer, b->memory, b->memoryOffset, "vkBindBufferMemory2")) return false;
        }
        return true;
    }

    /// <summary>
    /// An image bind must fit its allocation like a buffer's (VUID-VkBindImageMemoryInfo-size-01049,
    /// -memoryOffset-01048): lavapipe placed an 8512×64 image in a 16 KiB allocation and a copy into
    /// it wrote past the allocation (found by the lavapipe fuzz target). A plane of a disjoint image is
    /// measured with its plane's requirements; a bind from a swapchain (no memory) is the driver's.
    /// </summary>
    bool BindImage(Dispatcher x, ulong device, VkBindImageMemoryInfo* b, string command)
    {
        VkBindImagePlaneMemoryInfo* plane = null;
        bool swapchain = false;
        for (var p = (VnChainHeader*)b->pNext; p != null; p = (VnChainHeader*)p->pNext)
        {
            if (p->sType == (int)VkBindImagePlaneMemoryInfo.SType) plane = (VkBindImagePlaneMemoryInfo*)p;
            else if (p->sType == (int)VkBindImageMemorySwapchainInfoKHR.SType) swapchain = true;
        }
        if (b->memory == 0) return swapchain ? true : Fatal($"{command}: no memory and no swapchain to bind from");
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkGetImageMemoryRequirements == null) return Fatal($"{command}: no device function");
        VkMemoryRequirements reqs = default;
        if (plane != null)
        {
            if (fns->vkGetImageMemoryRequirements2 == null) return Fatal($"{command}: no device function");
            var planeInfo = new VkImagePlaneMemoryRequirementsInfo { sType = VkImagePlaneMemoryRequirementsInfo.SType, planeAspect = plane->planeAspect };
            var info = new VkImageMemoryRequirementsInfo2 { sType = VkImageMemoryRequirementsInfo2.SType, pNext = &planeInfo, image = b->image };
            var r2 = new VkMemoryRequirements2 { sType = VkMemoryRequirements2.SType };
            fns->vkGetImageMemoryRequirements2(device, &info, &r2);
            reqs = r2.memoryRequirements;
        }
        else
        {
            ImageShape shape;
            bool known;
            lock (_images) known = _images.TryGetValue(b->image, out shape);
            if (known && (shape.Flags & 0x200) != 0) return Fatal($"{command}: a disjoint image is bound a plane at a time (VkBindImagePlaneMemoryInfo)");
            fns->vkGetImageMemoryRequirements(device, b->image, &reqs);
        }
        return FitsAllocation(b->memory, b->memoryOffset, reqs, command);
    }

    internal partial bool vkBindImageMemoryCheck(Dispatcher x, vkBindImageMemory.Args* a)
    {
        var b = new VkBindImageMemoryInfo { sType = VkBindImageMemoryInfo.SType, image = a->image, memory = a->memory, memoryOffset = a->memoryOffset };
        return BindImage(x, a->device, &b, "vkBindImageMemory");
    }

    internal partial bool vkBindImageMemory2Check(Dispatcher x, vkBindImageMemory2.Args* a)
    {
        if (a->bindInfoCount != 0 && a->pBindInfos == null) return Fatal("vkBindImageMemory2 without bind infos");
        for (uint i = 0; i < a->bindInfoCount; i++)
            if (!BindImage(x, a->device, &a->pBindInfos[i], "vkBindImageMemory2")) return false;
        return true;
    }

    /// <summary>A created buffer's size (host.xml &lt;after&gt;).</summary>
    internal partial void vkCreateBufferAfter(Dispatcher x, vkCreateBuffer.Args* a, ulong handle)
    {
        lock (_buffers) _buffers[handle] = new BufferEntry { CreatedSize = a->pCreateInfo->size, Created = true, Device = a->device };
    }

    /// <summary>The size <paramref name="buffer"/> (a driver handle) was created with; false for one this context does not know.</summary>
    bool BufferSize(ulong buffer, out ulong size)
    {
        lock (_buffers)
        {
            bool known = _buffers.TryGetValue(buffer, out BufferEntry e) && e.Created;
            size = e.CreatedSize;
            return known;
        }
    }

    /// <summary>A destroyed buffer's binding and size are forgotten (host.xml &lt;after&gt;).</summary>
    internal partial void vkDestroyBufferAfter(Dispatcher x, vkDestroyBuffer.Args* a, ulong handle)
    {
        lock (_buffers) _buffers.Remove(handle);
    }

    /// <summary>A destroyed device's buffers are gone with it.</summary>
    void ForgetBuffers(ulong device)
    {
        lock (_buffers)
            foreach (var (buffer, e) in _buffers)
                if (e.Device == device) _buffers.Remove(buffer);
    }

    /// <summary>Whether [offset, offset + size) lies inside <paramref name="buffer"/> (size <see cref="WholeSize"/>: to its end); true for a buffer never bound here.</summary>
    bool InBuffer(ulong buffer, ulong offset, ulong size, string command, string? role = null)
    {
        ulong bound;
        lock (_buffers) bound = _buffers.TryGetValue(buffer, out BufferEntry e) ? e.BoundSize : 0;
        if (bound == 0) return true;
        if (offset <= bound && (size == WholeSize || size <= bound - offset)) return true;
        return Fatal($"{command}{(role == null ? "" : " " + role)}: {(size == WholeSize ? "the rest" : $"{size} bytes")} at offset {offset} of a buffer of {bound}");
    }

    /// <summary>One region of a buffer-to-buffer copy (vkCmdCopyBuffer, vkCmdCopyBuffer2): an explicit size, inside both buffers.</summary>
    bool CopyRegionFits(ulong src, ulong dst, ulong srcOffset, ulong dstOffset, ulong size, string command)
    {
        if (size == WholeSize) return Fatal($"{command}: a region of VK_WHOLE_SIZE");
        return InBuffer(src, srcOffset, size, command, "source") && InBuffer(dst, dstOffset, size, command, "destination");
    }

    internal partial bool vkCmdCopyBufferCheck(Dispatcher x, vkCmdCopyBuffer.Args* a)
    {
        if (a->regionCount != 0 && a->pRegions == null) return Fatal("vkCmdCopyBuffer without regions");
        for (uint i = 0; i < a->regionCount; i++)
        {
            var r = &a->pRegions[i];
            if (!CopyRegionFits(a->srcBuffer, a->dstBuffer, r->srcOffset, r->dstOffset, r->size, "vkCmdCopyBuffer")) return false;
        }
        return true;
    }

    internal partial bool vkCmdCopyBuffer2Check(Dispatcher x, vkCmdCopyBuffer2.Args* a)
    {
        var info = a->pCopyBufferInfo;
        if (info == null || (info->regionCount != 0 && info->pRegions == null)) return Fatal("vkCmdCopyBuffer2 without a copy info or regions");
        for (uint i = 0; i < info->regionCount; i++)
        {
            var r = &info->pRegions[i];
            if (!CopyRegionFits(info->srcBuffer, info->dstBuffer, r->srcOffset, r->dstOffset, r->size, "vkCmdCopyBuffer2")) return false;
        }
        return true;
    }

    internal partial bool vkCmdFillBufferCheck(Dispatcher x, vkCmdFillBuffer.Args* a) =>
        InBuffer(a->dstBuffer, a->dstOffset, a->size, "vkCmdFillBuffer");

    internal partial bool vkCmdUpdateBufferCheck(Dispatcher x, vkCmdUpdateBuffer.Args* a)
    {
        if (a->dataSize > 65536 || (a->dataSize != 0 && a->pData == null)) return Fatal($"vkCmdUpdateBuffer: {a->dataSize} bytes");
        return InBuffer(a->dstBuffer, a->dstOffset, a->dataSize, "vkCmdUpdateBuffer");
    }
}

/// <summary>
/// Fence arrays and guest waits: a driver dereferences every handle of vkWaitForFences and
/// vkResetFences, and the decoder lets id 0 through as VK_NULL_HANDLE (lavapipe faulted on a null
/// fence in a wait, found by the lavapipe fuzz target): a null entry or a missing array ends the
/// context. A guest's vkWaitForFences or vkWaitSemaphores (a timeline value nobody signals, with
/// UINT64_MAX: a hang the same target found) blocks in the driver 50 ms at a time, up to the
/// guest's timeout, so a context that is ended meanwhile (fatal, or stopping) gets its thread back.
/// </summary>
internal sealed unsafe partial class Handlers
{
    bool FencesPresent(uint count, ulong* fences, string command)
    {
        if (count == 0) return true;
        if (fences == null) return Fatal($"{command}: {count} fences and no array");
        for (uint i = 0; i < count; i++)
            if (fences[i] == 0) return Fatal($"{command}: fence {i} is VK_NULL_HANDLE");
        return true;
    }

    public bool vkWaitForFences(Dispatcher x, vkWaitForFences.Args* a)
    {
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkWaitForFences == null) return Fatal("vkWaitForFences: no device function");
        if (!FencesPresent(a->fenceCount, a->pFences, "vkWaitForFences")) return false;
        return WaitForFencesInSlices(fns, a->device, a->fenceCount, a->pFences, a->waitAll, a->timeout, "vkWaitForFences", out a->ret);
    }

    /// <summary>
    /// The driver's vkWaitForFences in slices up to <paramref name="timeout"/> ns (the driver's answer
    /// in <paramref name="result"/>); false, with the context fatal, when it ended during the wait.
    /// </summary>
    bool WaitForFencesInSlices(VkDeviceFunctions* fns, ulong device, uint count, ulong* fences, uint waitAll, ulong timeout, string command, out VkResult result)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            ulong slice = WaitSlice(timeout, start, out bool last);
            result = fns->vkWaitForFences(device, count, fences, waitAll, slice);
            if (result != VkResult.VK_TIMEOUT || last) return true;
            if (_ctx.IsFatal || _ctx.Stopping.IsCancellationRequested) return Fatal($"{command}: the context ended during the wait");
        }
    }

    public bool vkWaitSemaphores(Dispatcher x, vkWaitSemaphores.Args* a)
    {
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkWaitSemaphores == null) return Fatal("vkWaitSemaphores: no device function");
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            ulong slice = WaitSlice(a->timeout, start, out bool last);
            a->ret = fns->vkWaitSemaphores(a->device, a->pWaitInfo, slice);
            if (a->ret != VkResult.VK_TIMEOUT || last) return true;
            if (_ctx.IsFatal || _ctx.Stopping.IsCancellationRequested) return Fatal("vkWaitSemaphores: the context ended during the wait");
        }
    }

    /// <summary>Nanoseconds a guest's wait blocks in the driver at a time: between slices the context can end it.</summary>
    const ulong WaitSliceNs = 50_000_000;

    /// <summary>The next slice of a guest's wait of <paramref name="timeout"/> ns begun at <paramref name="start"/>; <paramref name="last"/> when it reaches the guest's timeout.</summary>
    static ulong WaitSlice(ulong timeout, long start, out bool last)
    {
        ulong elapsed = (ulong)System.Diagnostics.Stopwatch.GetElapsedTime(start).Ticks * 100;
        ulong remaining = timeout > elapsed ? timeout - elapsed : 0;
        last = remaining <= WaitSliceNs;
        return last ? remaining : WaitSliceNs;
    }

    internal partial bool vkResetFencesCheck(Dispatcher x, vkResetFences.Args* a) =>
        FencesPresent(a->fenceCount, a->pFences, "vkResetFences");
}
