using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Families;

/// <summary>Hand-written commands of queues: submissions (feedback slots), sparse binds, waits. See Families/IcdCommands.cs for how to add one.</summary>
internal static unsafe partial class IcdCommands
{
    internal static partial VkResult vkQueueWaitIdle(ulong queue)
    {
        Queue q = DispatchableObject.From<Queue>(queue);
        return Completed(q.Device, q.WaitIdle());
    }

    // Submissions go through the ring without a reply (§8.5): the command buffers already went at vkEndCommandBuffer.
    internal static partial VkResult vkQueueSubmit(ulong queue, uint submitCount, VkSubmitInfo* pSubmits, ulong fence)
    {
        Queue q = DispatchableObject.From<Queue>(queue);
        q.Device.PushHostWrites();
        Submits.Submit(q, submitCount, pSubmits, fence);
        return VkResult.VK_SUCCESS;
    }

    internal static partial VkResult vkQueueSubmit2(ulong queue, uint submitCount, VkSubmitInfo2* pSubmits, ulong fence)
    {
        Queue q = DispatchableObject.From<Queue>(queue);
        q.Device.PushHostWrites();
        Submits.Submit2(q, submitCount, pSubmits, fence);
        return VkResult.VK_SUCCESS;
    }

    internal static partial VkResult vkQueueBindSparse(ulong queue, uint bindInfoCount, VkBindSparseInfo* pBindInfo, ulong fence)
    {
        Queue q = DispatchableObject.From<Queue>(queue);
        q.Device.PushHostWrites();
        Submits.BindSparse(q, bindInfoCount, pBindInfo, fence);
        return VkResult.VK_SUCCESS;
    }
}
