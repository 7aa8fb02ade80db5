using Venus.HostRenderer.Context;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer;

/// <summary>Command buffers and descriptor sets live and die with their pools; the table follows.</summary>
internal sealed unsafe partial class Handlers
{
    const int ObjCommandBuffer = 6, ObjDescriptorSet = 23, ObjDescriptorPool = 22, ObjCommandPool = 25;

    public bool vkAllocateCommandBuffers(Dispatcher x, vkAllocateCommandBuffers.Args* a)
    {
        uint n = a->pAllocateInfo->commandBufferCount;
        // lavapipe faults on a level outside PRIMARY/SECONDARY (found by the lavapipe fuzz target).
        if ((uint)a->pAllocateInfo->level > 1) return Fatal($"vkAllocateCommandBuffers: level {(uint)a->pAllocateInfo->level}");
        if (n > (uint)_ctx.Objects.Cap || (n != 0 && a->pCommandBuffers == null)) return Fatal($"vkAllocateCommandBuffers: {n} command buffers");
        ulong pool = _ctx.Objects.IdOf(a->pAllocateInfo->commandPool, ObjCommandPool);
        var real = new ulong[n];
        fixed (ulong* p = real) a->ret = x.DeviceFunctions->vkAllocateCommandBuffers(a->device, a->pAllocateInfo, p);
        if (a->ret != VkResult.VK_SUCCESS) return true;
        for (int i = 0; i < n; i++)
            if (!x.Register(a->pCommandBuffers[i], real[i], ObjCommandBuffer, x.FirstTable, pool)) return false;
        return true;
    }

    /// <summary>
    /// The spec's rules for freeing pool children (vkFreeCommandBuffers, vkFreeDescriptorSets): a
    /// count needs its array, and each handle is VK_NULL_HANDLE or was allocated from that very pool.
    /// lavapipe reads the array and frees each element into the pool it names (it faulted on a count
    /// without an array, found by the lavapipe fuzz target).
    /// </summary>
    bool ChildrenOfPool(uint count, ulong* handles, int type, ulong pool, int poolType, string command)
    {
        if (count == 0) return true;
        if (handles == null) return Fatal($"{command}: {count} handles and no array");
        ulong poolId = _ctx.Objects.IdOf(pool, poolType);
        for (uint i = 0; i < count; i++)
        {
            if (handles[i] == 0) continue;
            ulong id = _ctx.Objects.IdOf(handles[i], type);
            if (!_ctx.Objects.TryGet(id, type, out var o) || o.Parent != poolId)
                return Fatal($"{command}: element {i} (0x{id:x}) was not allocated from pool 0x{poolId:x}");
        }
        return true;
    }

    public bool vkFreeCommandBuffers(Dispatcher x, vkFreeCommandBuffers.Args* a)
    {
        if (!ChildrenOfPool(a->commandBufferCount, a->pCommandBuffers, ObjCommandBuffer, a->commandPool, ObjCommandPool, "vkFreeCommandBuffers")) return false;
        if (!_ctx.Retire.BeforeDestroy(a->device, "vkFreeCommandBuffers")) return false;
        x.DeviceFunctions->vkFreeCommandBuffers(a->device, a->commandPool, a->commandBufferCount, a->pCommandBuffers);
        for (int i = 0; i < a->commandBufferCount; i++)
        {
            x.Unregister(a->pCommandBuffers[i], ObjCommandBuffer);
            ForgetCommandBuffer(a->pCommandBuffers[i]);
        }
        return true;
    }

    public bool vkDestroyCommandPool(Dispatcher x, vkDestroyCommandPool.Args* a)
    {
        if (a->commandPool == 0) return true;
        ulong id = _ctx.Objects.IdOf(a->commandPool, ObjCommandPool);
        if (!_ctx.Retire.BeforeDestroy(a->device, "vkDestroyCommandPool")) return false;
        x.DeviceFunctions->vkDestroyCommandPool(a->device, a->commandPool, null);
        ForgetPoolCommandBuffers(id);
        _ctx.Objects.RemoveChildren(id);
        _ctx.Objects.Remove(id, out _);
        return true;
    }

    public bool vkAllocateDescriptorSets(Dispatcher x, vkAllocateDescriptorSets.Args* a)
    {
        uint n = a->pAllocateInfo->descriptorSetCount;
        if (n > (uint)_ctx.Objects.Cap || (n != 0 && a->pDescriptorSets == null)) return Fatal($"vkAllocateDescriptorSets: {n} descriptor sets");
        if (AllocateInfoError(a->pAllocateInfo) is { } invalid) return Fatal($"vkAllocateDescriptorSets: {invalid}");
        ulong pool = _ctx.Objects.IdOf(a->pAllocateInfo->descriptorPool, ObjDescriptorPool);
        var real = new ulong[n];
        fixed (ulong* p = real) a->ret = x.DeviceFunctions->vkAllocateDescriptorSets(a->device, a->pAllocateInfo, p);
        if (a->ret != VkResult.VK_SUCCESS) return true;
        fixed (ulong* p = real) RememberSets(a->pAllocateInfo, p);
        for (int i = 0; i < n; i++)
            if (!x.Register(a->pDescriptorSets[i], real[i], ObjDescriptorSet, -1, pool)) return false;
        return true;
    }

    public bool vkFreeDescriptorSets(Dispatcher x, vkFreeDescriptorSets.Args* a)
    {
        if (!ChildrenOfPool(a->descriptorSetCount, a->pDescriptorSets, ObjDescriptorSet, a->descriptorPool, ObjDescriptorPool, "vkFreeDescriptorSets")) return false;
        if (!_ctx.Retire.BeforeDestroy(a->device, "vkFreeDescriptorSets")) return false;
        a->ret = x.DeviceFunctions->vkFreeDescriptorSets(a->device, a->descriptorPool, a->descriptorSetCount, a->pDescriptorSets);
        ForgetSets(a->descriptorSetCount, a->pDescriptorSets);
        for (int i = 0; i < a->descriptorSetCount; i++) x.Unregister(a->pDescriptorSets[i], ObjDescriptorSet);
        return true;
    }

    public bool vkResetDescriptorPool(Dispatcher x, vkResetDescriptorPool.Args* a)
    {
        if (!_ctx.Retire.BeforeDestroy(a->device, "vkResetDescriptorPool")) return false;
        a->ret = x.DeviceFunctions->vkResetDescriptorPool(a->device, a->descriptorPool, a->flags);
        ForgetPoolSets(a->descriptorPool);
        _ctx.Objects.RemoveChildren(_ctx.Objects.IdOf(a->descriptorPool, ObjDescriptorPool));
        return true;
    }

    public bool vkDestroyDescriptorPool(Dispatcher x, vkDestroyDescriptorPool.Args* a)
    {
        if (a->descriptorPool == 0) return true;
        ulong id = _ctx.Objects.IdOf(a->descriptorPool, ObjDescriptorPool);
        if (!_ctx.Retire.BeforeDestroy(a->device, "vkDestroyDescriptorPool")) return false;
        x.DeviceFunctions->vkDestroyDescriptorPool(a->device, a->descriptorPool, null);
        ForgetPoolSets(a->descriptorPool);
        _ctx.Objects.RemoveChildren(id);
        _ctx.Objects.Remove(id, out _);
        return true;
    }
}
