using Venus.HostRenderer.Context;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer;

/// <summary>
/// Descriptor updates a driver trusts: lavapipe writes a descriptor at the binding and array element
/// a vkUpdateDescriptorSets names without checking them against the set's layout, so a guest's
/// dstArrayElement past the binding was a host-process fault (found by the lavapipe fuzz target).
/// Each layout's bindings (number, type, count, immutable samplers, the variable-count flag) are kept
/// by driver handle, and each allocated set's layout and variable count; a write or copy must then
/// follow the spec's rules: an existing binding of the same type, dstArrayElement + descriptorCount
/// inside that binding and the consecutive bindings it may run on into, the info array its type
/// reads present, a sampler where the binding has no immutable ones. Any breach ends the context.
/// </summary>
internal sealed unsafe partial class Handlers
{
    const int ObjDescriptorSetLayout = 20;
    const int TypeSampler = 0, TypeCombinedImageSampler = 1, TypeSampledImage = 2, TypeStorageImage = 3,
        TypeUniformTexelBuffer = 4, TypeStorageTexelBuffer = 5, TypeUniformBuffer = 6, TypeStorageBufferDynamic = 9,
        TypeInputAttachment = 10, TypeInlineUniformBlock = 1000138000, TypeMutable = 1000351000;
    const uint VariableDescriptorCountBit = 0x8; // VK_DESCRIPTOR_BINDING_VARIABLE_DESCRIPTOR_COUNT_BIT
    /// <summary>
    /// Largest binding number the host lets a layout use: the spec sets none, but drivers size a
    /// layout's binding table by its largest number (lavapipe hung building one for binding
    /// 553648129, found by the lavapipe fuzz target).
    /// </summary>
    const uint MaxBindingNumber = 65535;

    /// <summary>One binding of a set layout.</summary>
    internal readonly record struct LayoutBinding(uint Binding, int Type, uint Count, bool ImmutableSamplers, bool Variable);

    /// <summary>A set layout's bindings, sorted by binding number.</summary>
    internal sealed class SetLayout(LayoutBinding[] bindings, ulong device)
    {
        public readonly LayoutBinding[] Bindings = bindings;
        public readonly ulong Device = device;

        public int Find(uint binding)
        {
            int lo = 0, hi = Bindings.Length - 1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >> 1;
                uint b = Bindings[mid].Binding;
                if (b == binding) return mid;
                if (b < binding) lo = mid + 1; else hi = mid - 1;
            }
            return -1;
        }
    }

    /// <summary>An allocated set: its layout, the count of its variable-count binding, its pool.</summary>
    readonly record struct SetState(SetLayout Layout, uint VariableCount, ulong Pool);

    readonly Dictionary<ulong, SetLayout> _setLayouts = new();
    readonly Dictionary<ulong, SetState> _sets = new();

    public bool vkCreateDescriptorSetLayout(Dispatcher x, vkCreateDescriptorSetLayout.Args* a)
    {
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkCreateDescriptorSetLayout == null) return Fatal("vkCreateDescriptorSetLayout: no device function");
        var ci = a->pCreateInfo;
        if (ci == null || a->pSetLayout == null) return Fatal("vkCreateDescriptorSetLayout without a create info or a layout id");
        if (ci->bindingCount != 0 && ci->pBindings == null) return Fatal($"vkCreateDescriptorSetLayout: {ci->bindingCount} bindings and no array");
        uint* flags = null;
        for (var p = (VnChainHeader*)ci->pNext; p != null; p = (VnChainHeader*)p->pNext)
            if (p->sType == (int)VkDescriptorSetLayoutBindingFlagsCreateInfo.SType)
            {
                var f = (VkDescriptorSetLayoutBindingFlagsCreateInfo*)p;
                if (f->bindingCount != 0 && f->bindingCount != ci->bindingCount)
                    return Fatal($"vkCreateDescriptorSetLayout: {f->bindingCount} binding flags for {ci->bindingCount} bindings");
                if (f->bindingCount != 0) flags = f->pBindingFlags;
            }
        // The device's maxPerSetDescriptors bounds the descriptors of a layout (inline uniform
        // blocks count bytes, not descriptors): lavapipe sized a set for 4294967041 descriptors of
        // one binding, gigabytes, as its pool ran past (found by the lavapipe fuzz target).
        uint maxPerSet = MaxPerSetDescriptors(x, a->device);
        ulong total = 0;
        for (uint i = 0; i < ci->bindingCount; i++)
            if ((int)ci->pBindings[i].descriptorType != TypeInlineUniformBlock) total += ci->pBindings[i].descriptorCount;
        if (maxPerSet != 0 && total > maxPerSet) return Fatal($"vkCreateDescriptorSetLayout: {total} descriptors, above the device's maxPerSetDescriptors ({maxPerSet})");
        var bindings = new LayoutBinding[ci->bindingCount];
        for (uint i = 0; i < ci->bindingCount; i++)
        {
            var b = &ci->pBindings[i];
            if (b->binding > MaxBindingNumber) return Fatal($"vkCreateDescriptorSetLayout: binding number {b->binding} is above the host's limit of {MaxBindingNumber}");
            bool variable = flags != null && (flags[i] & VariableDescriptorCountBit) != 0;
            bindings[i] = new LayoutBinding(b->binding, (int)b->descriptorType, b->descriptorCount, b->pImmutableSamplers != null, variable);
        }
        Array.Sort(bindings, static (l, r) => l.Binding.CompareTo(r.Binding));
        for (int i = 1; i < bindings.Length; i++)
            if (bindings[i].Binding == bindings[i - 1].Binding) return Fatal($"vkCreateDescriptorSetLayout: binding {bindings[i].Binding} appears twice");
        for (int i = 0; i < bindings.Length; i++)
            if (bindings[i].Variable && i != bindings.Length - 1) return Fatal($"vkCreateDescriptorSetLayout: variable-count binding {bindings[i].Binding} is not the last");
        ulong layout = 0;
        a->ret = fns->vkCreateDescriptorSetLayout(a->device, ci, null, &layout);
        if (a->ret < 0 || layout == 0)
        {
            *a->pSetLayout = 0;
            return true;
        }
        if (!x.Register(*a->pSetLayout, layout, ObjDescriptorSetLayout))
        {
            fns->vkDestroyDescriptorSetLayout(a->device, layout, null);
            return false;
        }
        lock (_sets) _setLayouts[layout] = new SetLayout(bindings, a->device);
        return true;
    }

    /// <summary>The device's VkPhysicalDeviceMaintenance3Properties.maxPerSetDescriptors (1.1 core); 0 when unknown.</summary>
    uint MaxPerSetDescriptors(Dispatcher x, ulong device)
    {
        DeviceState? state;
        lock (_devLock) state = _devices.Values.FirstOrDefault(d => d.Handle == device);
        if (state == null || x.InstanceFunctions == null || x.InstanceFunctions->vkGetPhysicalDeviceProperties2 == null) return 0;
        var m3 = new VkPhysicalDeviceMaintenance3Properties { sType = VkPhysicalDeviceMaintenance3Properties.SType };
        var p2 = new VkPhysicalDeviceProperties2 { sType = VkPhysicalDeviceProperties2.SType, pNext = &m3 };
        x.InstanceFunctions->vkGetPhysicalDeviceProperties2(state.PhysicalDevice, &p2);
        return m3.maxPerSetDescriptors;
    }

    /// <summary>A destroyed layout's bindings are forgotten (host.xml &lt;after&gt;).</summary>
    internal partial void vkDestroyDescriptorSetLayoutAfter(Dispatcher x, vkDestroyDescriptorSetLayout.Args* a, ulong handle)
    {
        lock (_sets) _setLayouts.Remove(handle);
    }

    /// <summary>Records the sets vkAllocateDescriptorSets made: each one's layout and variable count.</summary>
    void RememberSets(VkDescriptorSetAllocateInfo* info, ulong* sets)
    {
        uint* variable = null;
        for (var p = (VnChainHeader*)info->pNext; p != null; p = (VnChainHeader*)p->pNext)
            if (p->sType == (int)VkDescriptorSetVariableDescriptorCountAllocateInfo.SType)
            {
                var v = (VkDescriptorSetVariableDescriptorCountAllocateInfo*)p;
                if (v->descriptorSetCount == info->descriptorSetCount) variable = v->pDescriptorCounts;
            }
        lock (_sets)
            for (uint i = 0; i < info->descriptorSetCount; i++)
                if (_setLayouts.TryGetValue(info->pSetLayouts[i], out var layout))
                    _sets[sets[i]] = new SetState(layout, variable != null ? variable[i] : 0, info->descriptorPool);
    }

    /// <summary>The spec's rules for a set layout and its variable count: what vkAllocateDescriptorSets must be given.</summary>
    string? AllocateInfoError(VkDescriptorSetAllocateInfo* info)
    {
        if (info->descriptorSetCount != 0 && info->pSetLayouts == null) return $"{info->descriptorSetCount} sets and no layouts";
        for (var p = (VnChainHeader*)info->pNext; p != null; p = (VnChainHeader*)p->pNext)
            if (p->sType == (int)VkDescriptorSetVariableDescriptorCountAllocateInfo.SType)
            {
                var v = (VkDescriptorSetVariableDescriptorCountAllocateInfo*)p;
                if (v->descriptorSetCount == 0) continue;
                if (v->descriptorSetCount != info->descriptorSetCount) return $"{v->descriptorSetCount} variable counts for {info->descriptorSetCount} sets";
                if (v->pDescriptorCounts == null) return "variable counts without an array";
                lock (_sets)
                    for (uint i = 0; i < v->descriptorSetCount; i++)
                    {
                        if (!_setLayouts.TryGetValue(info->pSetLayouts[i], out var layout) || layout.Bindings.Length == 0) continue;
                        var last = layout.Bindings[^1];
                        if (last.Variable && v->pDescriptorCounts[i] > last.Count)
                            return $"variable count {v->pDescriptorCounts[i]} of set {i} is above binding {last.Binding}'s {last.Count}";
                    }
            }
        return null;
    }

    /// <summary>Forgets sets freed one by one.</summary>
    void ForgetSets(uint count, ulong* sets)
    {
        if (sets == null) return;
        lock (_sets)
            for (uint i = 0; i < count; i++) _sets.Remove(sets[i]);
    }

    /// <summary>Forgets every set of a pool that was reset or destroyed.</summary>
    void ForgetPoolSets(ulong pool)
    {
        lock (_sets)
            foreach (var (set, s) in _sets)
                if (s.Pool == pool) _sets.Remove(set);
    }

    /// <summary>A destroyed device's layouts and sets are gone with it.</summary>
    void ForgetDescriptors(ulong device)
    {
        lock (_sets)
        {
            foreach (var (set, s) in _sets)
                if (s.Layout.Device == device) _sets.Remove(set);
            foreach (var (layout, l) in _setLayouts)
                if (l.Device == device) _setLayouts.Remove(layout);
        }
    }

    /// <summary>Descriptors binding <paramref name="index"/> of a set holds (the variable count for its variable-count binding).</summary>
    static uint CountOf(in SetState set, int index)
    {
        var b = set.Layout.Bindings[index];
        return b.Variable ? Math.Min(b.Count, set.VariableCount) : b.Count;
    }

    /// <summary>
    /// Whether <paramref name="count"/> descriptors from <paramref name="element"/> of
    /// <paramref name="binding"/> fit the set: in the binding, then in the bindings after it (binding
    /// + 1, + 2, ... of the same type; an empty one is skipped), as consecutive binding updates do.
    /// Inline uniform blocks count bytes and do not run on. Null when they fit, else why not.
    /// </summary>
    static string? RangeError(in SetState set, uint binding, uint element, uint count, int type, out LayoutBinding first)
    {
        first = default;
        var layout = set.Layout;
        int i = layout.Find(binding);
        if (i < 0) return $"binding {binding} is not in the set's layout";
        first = layout.Bindings[i];
        if (type >= 0 && first.Type != type && first.Type != TypeMutable)
            return $"binding {binding} holds descriptor type {first.Type}, not {type}";
        ulong avail = CountOf(set, i);
        if (element > avail) return $"array element {element} is past binding {binding}'s {avail}";
        avail -= element;
        if (first.Type == TypeInlineUniformBlock)
            return count <= avail ? null : $"{count} bytes at offset {element} of inline uniform block binding {binding} ({CountOf(set, i)} bytes)";
        uint next = binding;
        while (avail < count)
        {
            if (next == uint.MaxValue) break;
            next++;
            int j = layout.Find(next);
            if (j < 0) break;
            var b = layout.Bindings[j];
            uint n = CountOf(set, j);
            if (n == 0) continue;
            if (b.Type != first.Type) break;
            avail += n;
        }
        return avail >= count ? null : $"{count} descriptors from element {element} of binding {binding} run past the set's bindings";
    }

    internal partial bool vkUpdateDescriptorSetsCheck(Dispatcher x, vkUpdateDescriptorSets.Args* a)
    {
        if ((a->descriptorWriteCount != 0 && a->pDescriptorWrites == null) || (a->descriptorCopyCount != 0 && a->pDescriptorCopies == null))
            return Fatal("vkUpdateDescriptorSets: a count without its array");
        lock (_sets)
        {
            for (uint i = 0; i < a->descriptorWriteCount; i++)
                if (WriteError(&a->pDescriptorWrites[i]) is { } why) return Fatal($"vkUpdateDescriptorSets: write {i}: {why}");
            for (uint i = 0; i < a->descriptorCopyCount; i++)
                if (CopyError(&a->pDescriptorCopies[i]) is { } why) return Fatal($"vkUpdateDescriptorSets: copy {i}: {why}");
        }
        return true;
    }

    /// <summary>The rules of one VkWriteDescriptorSet (lock on _sets held); null when it keeps them.</summary>
    string? WriteError(VkWriteDescriptorSet* w)
    {
        if (w->dstSet == 0) return "dstSet is VK_NULL_HANDLE";
        if (!_sets.TryGetValue(w->dstSet, out var set)) return "dstSet is not a set this context allocated";
        if (RangeError(set, w->dstBinding, w->dstArrayElement, w->descriptorCount, (int)w->descriptorType, out var binding) is { } range) return range;
        if (w->descriptorCount == 0) return null;
        int type = (int)w->descriptorType;
        switch (type)
        {
            case TypeSampler or TypeCombinedImageSampler or TypeSampledImage or TypeStorageImage or TypeInputAttachment:
                if (w->pImageInfo == null) return $"descriptor type {type} without image infos";
                if ((type == TypeSampler || type == TypeCombinedImageSampler) && !binding.ImmutableSamplers)
                    for (uint k = 0; k < w->descriptorCount; k++)
                        if (w->pImageInfo[k].sampler == 0) return $"image info {k} has no sampler and binding {w->dstBinding} no immutable ones";
                return null;
            case TypeUniformTexelBuffer or TypeStorageTexelBuffer:
                return w->pTexelBufferView == null ? $"descriptor type {type} without texel buffer views" : null;
            case >= TypeUniformBuffer and <= TypeStorageBufferDynamic:
                if (w->pBufferInfo == null) return $"descriptor type {type} without buffer infos";
                // VUID-VkDescriptorBufferInfo-offset-00340, -range-00341: lavapipe turned an offset past
                // the buffer with VK_WHOLE_SIZE into a range that wrapped, and the shader wrote far
                // outside the buffer (found by the lavapipe fuzz target). A range of 0 is refused by
                // the spec but written by real apps (ggml's Vulkan backend binds empty tensors so, at an
                // offset inside the buffer); it names no bytes, and drivers take it: it passes here,
                // while the offset is not past the buffer's end.
                for (uint k = 0; k < w->descriptorCount; k++)
                {
                    var bi = &w->pBufferInfo[k];
                    if (bi->buffer == 0 || !BufferSize(bi->buffer, out ulong size)) continue;
                    if (bi->range == 0)
                    {
                        if (bi->offset > size) return $"buffer info {k}: an empty range at offset {bi->offset}, past the buffer's {size} bytes";
                        continue;
                    }
                    if (bi->offset >= size) return $"buffer info {k}: offset {bi->offset} is not inside the buffer's {size} bytes";
                    if (bi->range != WholeSize && bi->range > size - bi->offset)
                        return $"buffer info {k}: {bi->range} bytes at offset {bi->offset} do not fit the buffer's {size}";
                }
                return null;
            case TypeInlineUniformBlock:
                for (var p = (VnChainHeader*)w->pNext; p != null; p = (VnChainHeader*)p->pNext)
                    if (p->sType == (int)VkWriteDescriptorSetInlineUniformBlock.SType)
                    {
                        var block = (VkWriteDescriptorSetInlineUniformBlock*)p;
                        return block->dataSize == w->descriptorCount && block->pData != null ? null : $"inline uniform block data of {block->dataSize} bytes for a count of {w->descriptorCount}";
                    }
                return "an inline uniform block write without its data";
            default:
                // Other types (acceleration structures, ...) carry their descriptors in pNext: the
                // decoder checked those arrays against their own counts.
                return null;
        }
    }

    /// <summary>The rules of one VkCopyDescriptorSet (lock on _sets held); null when it keeps them.</summary>
    string? CopyError(VkCopyDescriptorSet* c)
    {
        if (!_sets.TryGetValue(c->srcSet, out var src)) return "srcSet is not a set this context allocated";
        if (!_sets.TryGetValue(c->dstSet, out var dst)) return "dstSet is not a set this context allocated";
        if (RangeError(src, c->srcBinding, c->srcArrayElement, c->descriptorCount, -1, out var from) is { } s) return $"source: {s}";
        if (RangeError(dst, c->dstBinding, c->dstArrayElement, c->descriptorCount, from.Type == TypeMutable ? -1 : from.Type, out _) is { } d) return $"destination: {d}";
        return null;
    }
}
