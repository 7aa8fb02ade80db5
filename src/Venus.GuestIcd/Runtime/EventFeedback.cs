using System.Runtime.CompilerServices;
using Venus.GuestIcd.Generated;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using Commands = Venus.Protocol.Commands;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// An event with a feedback slot holding VK_EVENT_SET or VK_EVENT_RESET. vkSetEvent and vkResetEvent
/// write it at once and send the host's command without a reply; vkCmdSetEvent(2) and
/// vkCmdResetEvent(2) are followed in the app's command buffer by a write of the slot after all
/// earlier commands (Mesa's venus does the same). Events made with VK_EVENT_CREATE_DEVICE_ONLY_BIT
/// have no host status and get no slot. <see cref="Covered"/> goes false for good once a command
/// buffer the write cannot join (a queue family without transfer support) sets or resets the event.
/// </summary>
internal sealed unsafe class GuestEvent(ulong id, FeedbackPool pool, FeedbackSlot slot)
{
    private readonly int* _status = (int*)slot.Status;

    public ulong Id { get; } = id;
    public FeedbackSlot Slot { get; } = slot;
    public volatile bool Covered = true;

    public VkResult Status => (VkResult)Volatile.Read(ref *_status);

    public void Write(VkResult status) => Volatile.Write(ref *_status, (int)status);

    public void Release() => pool.Free(Slot);
}

/// <summary>The event commands with feedback (see <see cref="GuestEvent"/>); without it they ask the host.</summary>
internal static unsafe class Events
{
    public static VkResult Create(Device dev, VkEventCreateInfo* info, ulong* pEvent)
    {
        ulong id = dev.Instance.NewObjectId();
        VkResult r = Calls.vkCreateEvent(dev.Ring, dev.Handle, info, null, &id);
        if (r < 0)
        {
            *pEvent = 0;
            return r;
        }
        *pEvent = id;
        bool deviceOnly = (info->flags & (uint)VkEventCreateFlagBits.VK_EVENT_CREATE_DEVICE_ONLY_BIT) != 0;
        if (!deviceOnly && dev.EventFeedback is { } pool && pool.TryAllocate(dev, (uint)VkResult.VK_EVENT_RESET, out FeedbackSlot slot))
            dev.Events.Set(id, new GuestEvent(id, pool, slot));
        return r;
    }

    public static void Destroy(Device dev, ulong @event)
    {
        if (@event == 0)
            return;
        if (dev.Events.TryGetValue(@event, out GuestEvent? ev) && dev.Events.Remove(@event))
            ev.Release();
        Generated.Sends.vkDestroyEvent(dev.Ring, dev.Handle, @event, null);
    }

    /// <summary>vkGetEventStatus: a read of the slot (no lock, nothing allocated), else the host.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VkResult Status(Device dev, ulong @event)
    {
        GuestEvent? ev = dev.Events.Find(@event);
        if (ev is not null && ev.Covered)
        {
            dev.Ring.ThrowIfLost();
            return ev.Status;
        }
        return HostStatus(dev, @event);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static VkResult HostStatus(Device dev, ulong @event) => Calls.vkGetEventStatus(dev.Ring, dev.Handle, @event);

    /// <summary>vkSetEvent (<paramref name="status"/> VK_EVENT_SET) or vkResetEvent from the host.</summary>
    public static VkResult HostWrite(Device dev, ulong @event, VkResult status)
    {
        bool set = status == VkResult.VK_EVENT_SET;
        if (dev.Events.TryGetValue(@event, out GuestEvent? ev) && ev.Covered)
        {
            dev.Ring.ThrowIfLost();
            ev.Write(status);
            if (set)
                Generated.Sends.vkSetEvent(dev.Ring, dev.Handle, @event);
            else
                Generated.Sends.vkResetEvent(dev.Ring, dev.Handle, @event);
            return VkResult.VK_SUCCESS;
        }
        return set ? Calls.vkSetEvent(dev.Ring, dev.Handle, @event) : Calls.vkResetEvent(dev.Ring, dev.Handle, @event);
    }

    /// <summary>After vkCmdSetEvent(2)/vkCmdResetEvent(2) of <paramref name="event"/> in <paramref name="cb"/>: the slot's write, where it can go.</summary>
    public static void AfterDeviceWrite(CommandBuffer cb, ulong @event, VkResult status)
    {
        if (!cb.Device.Events.TryGetValue(@event, out GuestEvent? ev) || !ev.Covered)
            return;
        if (cb.Device.Feedback is not { } pool || !pool.CanFill(cb.Pool.QueueFamily))
        {
            ev.Covered = false;
            return;
        }
        FeedbackPool.EncodeWrite(cb, default, ev.Slot, (uint)status);
    }

    /// <summary>vkCmdSetEvent / vkCmdResetEvent (<paramref name="status"/> says which), then the slot's write.</summary>
    public static void Record(ulong commandBuffer, ulong @event, uint stageMask, VkResult status)
    {
        var cb = CommandBuffer.FromHandle(commandBuffer);
        VnEncoder e;
        if (status == VkResult.VK_EVENT_SET)
        {
            e = cb.Reserve(Commands.vkCmdSetEvent.Size(commandBuffer, @event, stageMask, cb.StreamFilter));
            Commands.vkCmdSetEvent.Encode(ref e, 0, commandBuffer, @event, stageMask);
        }
        else
        {
            e = cb.Reserve(Commands.vkCmdResetEvent.Size(commandBuffer, @event, stageMask, cb.StreamFilter));
            Commands.vkCmdResetEvent.Encode(ref e, 0, commandBuffer, @event, stageMask);
        }
        cb.Commit(in e);
        AfterDeviceWrite(cb, @event, status);
    }

    /// <summary>vkCmdSetEvent2, then the slot's write.</summary>
    public static void RecordSet2(ulong commandBuffer, ulong @event, VkDependencyInfo* dependency)
    {
        var cb = CommandBuffer.FromHandle(commandBuffer);
        VnEncoder e = cb.Reserve(Commands.vkCmdSetEvent2.Size(commandBuffer, @event, dependency, cb.StreamFilter));
        Commands.vkCmdSetEvent2.Encode(ref e, 0, commandBuffer, @event, dependency);
        cb.Commit(in e);
        AfterDeviceWrite(cb, @event, VkResult.VK_EVENT_SET);
    }

    /// <summary>vkCmdResetEvent2, then the slot's write.</summary>
    public static void RecordReset2(ulong commandBuffer, ulong @event, ulong stageMask)
    {
        var cb = CommandBuffer.FromHandle(commandBuffer);
        VnEncoder e = cb.Reserve(Commands.vkCmdResetEvent2.Size(commandBuffer, @event, stageMask, cb.StreamFilter));
        Commands.vkCmdResetEvent2.Encode(ref e, 0, commandBuffer, @event, stageMask);
        cb.Commit(in e);
        AfterDeviceWrite(cb, @event, VkResult.VK_EVENT_RESET);
    }
}
