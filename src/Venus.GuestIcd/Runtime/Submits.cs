using System.Runtime.InteropServices;
using Venus.GuestIcd.Generated;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// Queue submissions with the feedback commands added (as Mesa's venus does): each batch that
/// signals a timeline semaphore with a feedback counter gets that semaphore's signal command
/// (<see cref="GuestTimeline"/>) after its own command buffers, and the last batch gets the fence's
/// fill (<see cref="GuestFence"/>); a submit with no batches and a fence gets a batch of just the
/// fill. Everything goes in one submit, sent without a reply. A batch that cannot take more command
/// buffers (device-group or protected, or past <see cref="MaxAppend"/>) leaves its fence and
/// timelines to the host.
/// </summary>
internal static unsafe class Submits
{
    /// <summary>Past this many command buffers in a batch nothing is appended.</summary>
    private const uint MaxAppend = 4096;

    public static void Submit(Queue q, uint count, VkSubmitInfo* submits, ulong fence) =>
        Append<VkSubmitInfo, ulong, Submit1>(q, count, submits, fence);

    public static void Submit2(Queue q, uint count, VkSubmitInfo2* submits, ulong fence) =>
        Append<VkSubmitInfo2, VkCommandBufferSubmitInfo, Submit2Batches>(q, count, submits, fence);

    /// <summary>
    /// The submit with the feedback command buffers appended, for either submit structure
    /// (<typeparamref name="TBatch"/>, whose command buffers are <typeparamref name="TBuffer"/>s).
    /// </summary>
    private static void Append<TBatch, TBuffer, TKind>(Queue q, uint count, TBatch* submits, ulong fence)
        where TBatch : unmanaged where TBuffer : unmanaged where TKind : IBatchKind<TBatch, TBuffer>
    {
        uint signals = 0;
        if (!q.Device.Timelines.IsEmpty)
            for (uint i = 0; i < count; i++)
                signals += TKind.SignalCount(&submits[i]);
        ulong* extra = signals == 0 ? null : (ulong*)NativeMemory.Alloc(signals, sizeof(ulong));
        try
        {
            uint added = 0;
            for (uint i = 0, k = 0; i < count && signals != 0; i++)
            {
                TBatch* b = &submits[i];
                bool fits = TKind.Fits(b);
                for (uint j = 0; j < TKind.SignalCount(b); j++, k++)
                {
                    bool known = TKind.SignalValue(b, j, out ulong semaphore, out ulong value);
                    extra[k] = Timelines.SignalCommand(q, semaphore, value, fits && known);
                    added += extra[k] != 0 ? 1u : 0u;
                }
            }
            ulong fill = Fences.FillFor(q, fence, count == 0 || TKind.Fits(&submits[count - 1]));
            added += fill != 0 ? 1u : 0u;
            if (added == 0)
            {
                TKind.Send(q, count, submits, fence);
                return;
            }
            uint outCount = Math.Max(count, 1);
            nuint buffers = added;
            for (uint i = 0; i < count; i++)
                buffers += TKind.Buffers(&submits[i], out _);
            byte* block = (byte*)NativeMemory.Alloc((nuint)outCount * (nuint)sizeof(TBatch) + buffers * (nuint)sizeof(TBuffer));
            try
            {
                var batches = (TBatch*)block;
                var list = (TBuffer*)(batches + outCount);
                for (uint i = 0, k = 0; i < outCount; i++)
                {
                    TBatch b = count == 0 ? TKind.Empty() : submits[i];
                    uint n = TKind.Buffers(&b, out TBuffer* own);
                    new ReadOnlySpan<TBuffer>(own, (int)n).CopyTo(new Span<TBuffer>(list, (int)n));
                    for (uint j = 0; j < TKind.SignalCount(&b) && signals != 0; j++, k++)
                        if (extra[k] != 0)
                            list[n++] = TKind.Wrap(extra[k]);
                    if (i == outCount - 1 && fill != 0)
                        list[n++] = TKind.Wrap(fill);
                    TKind.SetBuffers(&b, list, n);
                    batches[i] = b;
                    list += n;
                }
                TKind.Send(q, outCount, batches, fence);
            }
            finally
            {
                NativeMemory.Free(block);
            }
        }
        finally
        {
            NativeMemory.Free(extra);
        }
    }

    /// <summary>What <see cref="Append"/> needs to know of a submit structure.</summary>
    private interface IBatchKind<TBatch, TBuffer> where TBatch : unmanaged where TBuffer : unmanaged
    {
        static abstract TBatch Empty();
        static abstract uint Buffers(TBatch* b, out TBuffer* buffers);
        static abstract void SetBuffers(TBatch* b, TBuffer* buffers, uint count);
        static abstract TBuffer Wrap(ulong commandBuffer);
        /// <summary>Whether command buffers can be added to the batch.</summary>
        static abstract bool Fits(TBatch* b);
        static abstract uint SignalCount(TBatch* b);
        /// <summary>The j-th signalled semaphore and its value; false where the value is not given (not a timeline signal).</summary>
        static abstract bool SignalValue(TBatch* b, uint j, out ulong semaphore, out ulong value);
        static abstract void Send(Queue q, uint count, TBatch* batches, ulong fence);
    }

    private readonly struct Submit1 : IBatchKind<VkSubmitInfo, ulong>
    {
        public static VkSubmitInfo Empty() => new() { sType = VkSubmitInfo.SType };

        public static uint Buffers(VkSubmitInfo* b, out ulong* buffers)
        {
            buffers = b->pCommandBuffers;
            return b->commandBufferCount;
        }

        public static void SetBuffers(VkSubmitInfo* b, ulong* buffers, uint count)
        {
            b->pCommandBuffers = buffers;
            b->commandBufferCount = count;
        }

        public static ulong Wrap(ulong commandBuffer) => commandBuffer;

        public static bool Fits(VkSubmitInfo* b) => b->commandBufferCount <= MaxAppend && PlainBatch(b->pNext);

        public static uint SignalCount(VkSubmitInfo* b) => b->signalSemaphoreCount;

        public static bool SignalValue(VkSubmitInfo* b, uint j, out ulong semaphore, out ulong value)
        {
            semaphore = b->pSignalSemaphores[j];
            VkTimelineSemaphoreSubmitInfo* values = TimelineValues(b->pNext);
            bool known = values != null && values->pSignalSemaphoreValues != null && j < values->signalSemaphoreValueCount;
            value = known ? values->pSignalSemaphoreValues[j] : 0;
            return known;
        }

        public static void Send(Queue q, uint count, VkSubmitInfo* batches, ulong fence) =>
            Sends.vkQueueSubmit(q.Ring, q.Handle, count, batches, fence);
    }

    private readonly struct Submit2Batches : IBatchKind<VkSubmitInfo2, VkCommandBufferSubmitInfo>
    {
        public static VkSubmitInfo2 Empty() => new() { sType = VkSubmitInfo2.SType };

        public static uint Buffers(VkSubmitInfo2* b, out VkCommandBufferSubmitInfo* buffers)
        {
            buffers = b->pCommandBufferInfos;
            return b->commandBufferInfoCount;
        }

        public static void SetBuffers(VkSubmitInfo2* b, VkCommandBufferSubmitInfo* buffers, uint count)
        {
            b->pCommandBufferInfos = buffers;
            b->commandBufferInfoCount = count;
        }

        public static VkCommandBufferSubmitInfo Wrap(ulong commandBuffer) =>
            new() { sType = VkCommandBufferSubmitInfo.SType, commandBuffer = commandBuffer };

        public static bool Fits(VkSubmitInfo2* b) =>
            b->commandBufferInfoCount <= MaxAppend && (b->flags & (uint)VkSubmitFlagBits.VK_SUBMIT_PROTECTED_BIT) == 0;

        public static uint SignalCount(VkSubmitInfo2* b) => b->signalSemaphoreInfoCount;

        public static bool SignalValue(VkSubmitInfo2* b, uint j, out ulong semaphore, out ulong value)
        {
            semaphore = b->pSignalSemaphoreInfos[j].semaphore;
            value = b->pSignalSemaphoreInfos[j].value;
            return true;
        }

        public static void Send(Queue q, uint count, VkSubmitInfo2* batches, ulong fence) =>
            Sends.vkQueueSubmit2(q.Ring, q.Handle, count, batches, fence);
    }

    /// <summary>vkQueueBindSparse cannot carry commands: its fence (until reset) and the timelines it signals (for good) are the host's to answer.</summary>
    public static void BindSparse(Queue q, uint count, VkBindSparseInfo* infos, ulong fence)
    {
        Fences.FillFor(q, fence, fits: false);
        for (uint i = 0; i < count; i++)
            Timelines.Uncover(q.Device, infos[i].signalSemaphoreCount, infos[i].pSignalSemaphores);
        Sends.vkQueueBindSparse(q.Ring, q.Handle, count, infos, fence);
    }

    private static VkTimelineSemaphoreSubmitInfo* TimelineValues(void* next)
    {
        for (var s = (VkBaseInStructure*)next; s != null; s = s->pNext)
            if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO)
                return (VkTimelineSemaphoreSubmitInfo*)s;
        return null;
    }

    /// <summary>A VkSubmitInfo chain to which a command buffer can be added: no per-buffer device masks, not protected.</summary>
    private static bool PlainBatch(void* next)
    {
        for (var s = (VkBaseInStructure*)next; s != null; s = s->pNext)
        {
            if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_DEVICE_GROUP_SUBMIT_INFO)
                return false;
            if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_PROTECTED_SUBMIT_INFO && ((VkProtectedSubmitInfo*)s)->protectedSubmit != 0)
                return false;
        }
        return true;
    }
}
