using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>A VkQueue, with its timeline and (for vkQueueWaitIdle) a fence of its own, made on first use.</summary>
internal sealed unsafe class Queue : DispatchableObject
{
    private ulong _idleFence;

    public Queue(Device device, uint family, uint index, uint flags, uint ringIdx)
    {
        Device = device;
        Family = family;
        Index = index;
        Flags = flags;
        RingIdx = ringIdx;
    }

    public Device Device { get; }
    public override GuestInstance Instance => Device.Instance;
    public uint Family { get; }
    public uint Index { get; }
    public uint Flags { get; }
    public uint RingIdx { get; }

    /// <summary>
    /// vkQueueWaitIdle without blocking the host's ring thread (a host may refuse blocking waits):
    /// an empty submission with our fence (with feedback where the device has it), then the fence is polled.
    /// </summary>
    public VkResult WaitIdle()
    {
        if (_idleFence == 0)
        {
            var info = new VkFenceCreateInfo { sType = VkFenceCreateInfo.SType };
            ulong fence;
            VkResult r = Fences.Create(Device, &info, &fence);
            if (r != VkResult.VK_SUCCESS)
                return r;
            _idleFence = fence;
        }
        ulong f = _idleFence;
        Submits.Submit(this, 0, null, f);
        VkResult result = Sync.WaitFences(Device, 1, &f, 1, ulong.MaxValue);
        if (result == VkResult.VK_SUCCESS)
            Fences.Reset(Device, 1, &f);
        return result;
    }

    public void Destroy()
    {
        if (_idleFence != 0 && !Ring.IsLost)
        {
            Fences.Destroy(Device, _idleFence);
        }
    }
}
