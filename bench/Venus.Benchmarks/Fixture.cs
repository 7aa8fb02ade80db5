using System.Runtime.InteropServices;
using Venus.Protocol.Vulkan;

namespace Venus.Benchmarks;

/// <summary>
/// The guest's inputs for the benchmarked calls, in native memory as a Vulkan app passes them,
/// and the host's view of the same objects (a handle table with every id registered).
/// </summary>
public sealed unsafe class Fixture : IDisposable
{
    // Guest object ids. Mesa hands out small sequential ids (vn_get_next_obj_id), so the table is
    // filled with 1..LiveObjects and the ids below are some of them.
    public const ulong Queue = 3;
    public const ulong CommandBuffer = 100;              // 100..102 are command buffers
    public const ulong WaitSemaphore0 = 200, WaitSemaphore1 = 201, SignalSemaphore = 202;
    public const ulong Fence = 300;
    public const ulong PipelineLayout = 400;
    public const ulong DescriptorSet0 = 500;             // 500..503
    public const int LiveObjects = 4096;
    public const int TableCapacity = 8192;               // ~50% load

    // VkObjectType values the generated decoders pass to the translator.
    public const int ObjQueue = (int)VkObjectType.VK_OBJECT_TYPE_QUEUE;
    public const int ObjSemaphore = (int)VkObjectType.VK_OBJECT_TYPE_SEMAPHORE;
    public const int ObjCommandBuffer = (int)VkObjectType.VK_OBJECT_TYPE_COMMAND_BUFFER;
    public const int ObjFence = (int)VkObjectType.VK_OBJECT_TYPE_FENCE;
    public const int ObjPipelineLayout = (int)VkObjectType.VK_OBJECT_TYPE_PIPELINE_LAYOUT;
    public const int ObjDescriptorSet = (int)VkObjectType.VK_OBJECT_TYPE_DESCRIPTOR_SET;

    public const uint DescriptorSetCount = 4, DynamicOffsetCount = 2;
    public const uint WaitSemaphoreCount = 2, CommandBufferCount = 3, SignalSemaphoreCount = 1;

    public readonly ulong* DescriptorSets;
    public readonly uint* DynamicOffsets;
    public readonly VkSubmitInfo* Submit;
    public readonly ulong* WaitSemaphores;
    public readonly uint* WaitDstStageMask;
    public readonly ulong* CommandBuffers;
    public readonly ulong* SignalSemaphores;
    /// <summary>The same submit with a two-struct pNext chain (timeline values, then protected-submit), as timeline users send it.</summary>
    public readonly VkSubmitInfo* ChainedSubmit;
    public readonly VkTimelineSemaphoreSubmitInfo* Timeline;
    public readonly VkProtectedSubmitInfo* Protected;
    public readonly ulong* WaitValues;
    public readonly ulong* SignalValues;
    /// <summary>16 bytes of push-constant data (vkCmdPushConstants).</summary>
    public readonly uint* PushValues;

    void* _block;

    public Fixture()
    {
        // One block for everything, carved in order; all pieces stay 8-aligned.
        nuint bytes = (nuint)(DescriptorSetCount * 8 + 8 /* 2 offsets */ + (uint)sizeof(VkSubmitInfo)
                              + WaitSemaphoreCount * 8 + 8 /* 2 masks */ + CommandBufferCount * 8 + SignalSemaphoreCount * 8
                              + (uint)sizeof(VkSubmitInfo) + (uint)sizeof(VkTimelineSemaphoreSubmitInfo) + (uint)sizeof(VkProtectedSubmitInfo)
                              + WaitSemaphoreCount * 8 + SignalSemaphoreCount * 8 + 16 /* push constants */);
        _block = NativeMemory.AllocZeroed(bytes);
        byte* p = (byte*)_block;
        DescriptorSets = (ulong*)p; p += DescriptorSetCount * 8;
        DynamicOffsets = (uint*)p; p += 8;
        Submit = (VkSubmitInfo*)p; p += sizeof(VkSubmitInfo);
        WaitSemaphores = (ulong*)p; p += WaitSemaphoreCount * 8;
        WaitDstStageMask = (uint*)p; p += 8;
        CommandBuffers = (ulong*)p; p += CommandBufferCount * 8;
        SignalSemaphores = (ulong*)p; p += SignalSemaphoreCount * 8;
        ChainedSubmit = (VkSubmitInfo*)p; p += sizeof(VkSubmitInfo);
        Timeline = (VkTimelineSemaphoreSubmitInfo*)p; p += sizeof(VkTimelineSemaphoreSubmitInfo);
        Protected = (VkProtectedSubmitInfo*)p; p += sizeof(VkProtectedSubmitInfo);
        WaitValues = (ulong*)p; p += WaitSemaphoreCount * 8;
        SignalValues = (ulong*)p; p += SignalSemaphoreCount * 8;
        PushValues = (uint*)p;
        for (uint i = 0; i < 4; i++) PushValues[i] = 0x1000 + i;

        for (uint i = 0; i < DescriptorSetCount; i++) DescriptorSets[i] = DescriptorSet0 + i;
        DynamicOffsets[0] = 256;
        DynamicOffsets[1] = 1024;

        WaitSemaphores[0] = WaitSemaphore0;
        WaitSemaphores[1] = WaitSemaphore1;
        WaitDstStageMask[0] = (uint)VkPipelineStageFlagBits.VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
        WaitDstStageMask[1] = (uint)VkPipelineStageFlagBits.VK_PIPELINE_STAGE_TRANSFER_BIT;
        for (uint i = 0; i < CommandBufferCount; i++) CommandBuffers[i] = CommandBuffer + i;
        SignalSemaphores[0] = SignalSemaphore;

        Submit->sType = VkSubmitInfo.SType;
        Submit->pNext = null;
        Submit->waitSemaphoreCount = WaitSemaphoreCount;
        Submit->pWaitSemaphores = WaitSemaphores;
        Submit->pWaitDstStageMask = WaitDstStageMask;
        Submit->commandBufferCount = CommandBufferCount;
        Submit->pCommandBuffers = CommandBuffers;
        Submit->signalSemaphoreCount = SignalSemaphoreCount;
        Submit->pSignalSemaphores = SignalSemaphores;

        WaitValues[0] = 41;
        WaitValues[1] = 42;
        SignalValues[0] = 43;
        Timeline->sType = VkTimelineSemaphoreSubmitInfo.SType;
        Timeline->pNext = Protected;
        Timeline->waitSemaphoreValueCount = WaitSemaphoreCount;
        Timeline->pWaitSemaphoreValues = WaitValues;
        Timeline->signalSemaphoreValueCount = SignalSemaphoreCount;
        Timeline->pSignalSemaphoreValues = SignalValues;
        Protected->sType = VkProtectedSubmitInfo.SType;
        Protected->pNext = null;
        Protected->protectedSubmit = 0;
        *ChainedSubmit = *Submit;
        ChainedSubmit->pNext = Timeline;
    }

    /// <summary>The host handle the table maps a guest id to (pointer-like, distinct from the id).</summary>
    public static ulong HostHandle(ulong id) => 0x7F3A_0000_0000UL + id * 0x40;

    /// <summary>Object type of each registered id; everything outside the named ranges is a buffer or an image.</summary>
    public static int ObjectTypeOf(ulong id) => id switch
    {
        Queue => ObjQueue,
        >= 100 and < 200 => ObjCommandBuffer,
        >= 200 and < 300 => ObjSemaphore,
        >= 300 and < 400 => ObjFence,
        >= 400 and < 500 => ObjPipelineLayout,
        >= 500 and < 1000 => ObjDescriptorSet,
        _ => (id & 1) == 0 ? (int)VkObjectType.VK_OBJECT_TYPE_BUFFER : (int)VkObjectType.VK_OBJECT_TYPE_IMAGE,
    };

    public static OpenAddressingHandleTable BuildOpenAddressingTable()
    {
        var t = new OpenAddressingHandleTable(TableCapacity);
        for (ulong id = 1; id <= LiveObjects; id++) t.Add(id, ObjectTypeOf(id), HostHandle(id));
        return t;
    }

    public static DictionaryHandleTable BuildDictionaryTable()
    {
        var t = new DictionaryHandleTable(LiveObjects);
        for (ulong id = 1; id <= LiveObjects; id++) t.Add(id, ObjectTypeOf(id), HostHandle(id));
        return t;
    }

    public void Dispose()
    {
        if (_block == null) return;
        NativeMemory.Free(_block);
        _block = null;
    }
}
