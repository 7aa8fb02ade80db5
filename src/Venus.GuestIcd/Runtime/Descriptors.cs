using System.Runtime.InteropServices;
using Venus.GuestIcd.Generated;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using Commands = Venus.Protocol.Commands;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// A descriptor update template, kept in the guest: updates with it are expanded into
/// vkUpdateDescriptorSets, pushes into vkCmdPushDescriptorSet (venus-protocol.md: the raw data
/// pointer cannot travel). <see cref="ScratchBytes"/> is what one expansion needs.
/// </summary>
internal sealed class DescriptorUpdateTemplate
{
    public DescriptorUpdateTemplate(VkDescriptorUpdateTemplateEntry[] entries, VkDescriptorUpdateTemplateType type, VkPipelineBindPoint bindPoint)
    {
        Entries = entries;
        Type = type;
        BindPoint = bindPoint;
        ScratchBytes = Descriptors.TemplateScratchBytes(entries);
    }

    public VkDescriptorUpdateTemplateEntry[] Entries { get; }
    public VkDescriptorUpdateTemplateType Type { get; }

    /// <summary>For push-descriptor templates: where vkCmdPushDescriptorSetWithTemplate binds.</summary>
    public VkPipelineBindPoint BindPoint { get; }

    public nuint ScratchBytes { get; }
}

/// <summary>
/// Descriptor writes as the protocol needs them: the encoder follows every non-NULL pointer, so the
/// pointers and handles the Vulkan spec says are ignored for a descriptor type are cleared first
/// (an app may leave garbage there, and the host would look the garbage up as an object id). The
/// cleaned writes are built in scratch memory: a native block for updates, the command buffer's
/// reusable scratch for pushes (no allocation on the vkCmd* path once it has grown).
/// </summary>
internal static unsafe class Descriptors
{
    private enum Kind { Image, Sampler, ImageOnly, Buffer, TexelBuffer, None }

    private static Kind KindOf(VkDescriptorType type) => type switch
    {
        VkDescriptorType.VK_DESCRIPTOR_TYPE_SAMPLER => Kind.Sampler,
        VkDescriptorType.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER => Kind.Image,
        VkDescriptorType.VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE or VkDescriptorType.VK_DESCRIPTOR_TYPE_STORAGE_IMAGE
            or VkDescriptorType.VK_DESCRIPTOR_TYPE_INPUT_ATTACHMENT => Kind.ImageOnly,
        VkDescriptorType.VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER or VkDescriptorType.VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER => Kind.TexelBuffer,
        VkDescriptorType.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER or VkDescriptorType.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
            or VkDescriptorType.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER_DYNAMIC or VkDescriptorType.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER_DYNAMIC => Kind.Buffer,
        _ => Kind.None,
    };

    /// <summary>Scratch bytes <see cref="Clean"/> needs: the writes and their image infos.</summary>
    private static nuint CleanBytes(uint writeCount, VkWriteDescriptorSet* writes)
    {
        nuint images = 0;
        for (uint i = 0; i < writeCount; i++)
            if (KindOf(writes[i].descriptorType) is Kind.Image or Kind.Sampler or Kind.ImageOnly && writes[i].pImageInfo != null)
                images += writes[i].descriptorCount;
        return Math.Max((nuint)writeCount * (nuint)sizeof(VkWriteDescriptorSet) + images * (nuint)sizeof(VkDescriptorImageInfo), 1);
    }

    /// <summary>
    /// Copies the writes into <paramref name="scratch"/> (<see cref="CleanBytes"/> long) with what
    /// their type ignores cleared; for a push, dstSet too (ignored there).
    /// </summary>
    private static VkWriteDescriptorSet* Clean(uint writeCount, VkWriteDescriptorSet* writes, byte* scratch, bool push)
    {
        var clean = (VkWriteDescriptorSet*)scratch;
        var images = (VkDescriptorImageInfo*)(scratch + writeCount * sizeof(VkWriteDescriptorSet));
        for (uint i = 0; i < writeCount; i++)
        {
            VkWriteDescriptorSet w = writes[i];
            if (push)
                w.dstSet = 0;
            Kind kind = KindOf(w.descriptorType);
            switch (kind)
            {
                case Kind.Image or Kind.Sampler or Kind.ImageOnly:
                    w.pBufferInfo = null;
                    w.pTexelBufferView = null;
                    if (w.pImageInfo != null)
                    {
                        for (uint j = 0; j < w.descriptorCount; j++)
                            images[j] = CleanImage(w.pImageInfo[j], kind);
                        w.pImageInfo = images;
                        images += w.descriptorCount;
                    }
                    break;
                case Kind.Buffer:
                    w.pImageInfo = null;
                    w.pTexelBufferView = null;
                    break;
                case Kind.TexelBuffer:
                    w.pImageInfo = null;
                    w.pBufferInfo = null;
                    break;
                default:
                    w.pImageInfo = null;
                    w.pBufferInfo = null;
                    w.pTexelBufferView = null;
                    break;
            }
            clean[i] = w;
        }
        return clean;
    }

    private static VkDescriptorImageInfo CleanImage(VkDescriptorImageInfo info, Kind kind)
    {
        if (kind == Kind.ImageOnly)
            info.sampler = 0;
        else if (kind == Kind.Sampler)
            info.imageView = 0;
        return info;
    }

    /// <summary>Sends vkUpdateDescriptorSets with the writes cleaned (async, like every void update).</summary>
    public static void Update(Device device, uint writeCount, VkWriteDescriptorSet* writes, uint copyCount, VkCopyDescriptorSet* copies)
    {
        byte* scratch = (byte*)NativeMemory.Alloc(CleanBytes(writeCount, writes));
        try
        {
            VkWriteDescriptorSet* clean = Clean(writeCount, writes, scratch, push: false);
            Sends.vkUpdateDescriptorSets(device.Ring, device.Handle, writeCount, clean, copyCount, copies);
        }
        finally
        {
            NativeMemory.Free(scratch);
        }
    }

    /// <summary>vkCmdPushDescriptorSet recorded with the writes cleaned, built in the command buffer's scratch.</summary>
    public static void Push(CommandBuffer cb, VkPipelineBindPoint bindPoint, ulong layout, uint set, uint writeCount, VkWriteDescriptorSet* writes)
    {
        VkWriteDescriptorSet* clean = Clean(writeCount, writes, cb.Scratch(CleanBytes(writeCount, writes)), push: true);
        Record(cb, bindPoint, layout, set, writeCount, clean);
    }

    /// <summary>vkCmdPushDescriptorSetWithTemplate: the template expanded into a vkCmdPushDescriptorSet.</summary>
    public static void PushWithTemplate(CommandBuffer cb, DescriptorUpdateTemplate template, ulong layout, uint set, byte* data)
    {
        VkWriteDescriptorSet* writes = Expand(template, 0, data, cb.Scratch(template.ScratchBytes));
        Record(cb, template.BindPoint, layout, set, (uint)template.Entries.Length, writes);
    }

    /// <summary>vkCmdPushDescriptorSet2 (maintenance6): the writes cleaned as for vkCmdPushDescriptorSet, the rest as given.</summary>
    public static void Push2(CommandBuffer cb, VkPushDescriptorSetInfo* info)
    {
        VkPushDescriptorSetInfo copy = *info;
        copy.pDescriptorWrites = Clean(info->descriptorWriteCount, info->pDescriptorWrites,
            cb.Scratch(CleanBytes(info->descriptorWriteCount, info->pDescriptorWrites)), push: true);
        Record2(cb, &copy);
    }

    /// <summary>
    /// vkCmdPushDescriptorSetWithTemplate2: the template expanded into a vkCmdPushDescriptorSet2 for
    /// the stages of the template's bind point (the info's pNext, a pipeline layout, goes along).
    /// </summary>
    public static void PushWithTemplate2(CommandBuffer cb, DescriptorUpdateTemplate template, VkPushDescriptorSetWithTemplateInfo* info)
    {
        var push = new VkPushDescriptorSetInfo
        {
            sType = VkPushDescriptorSetInfo.SType,
            pNext = info->pNext,
            stageFlags = StagesOf(template.BindPoint),
            layout = info->layout,
            set = info->set,
            descriptorWriteCount = (uint)template.Entries.Length,
            pDescriptorWrites = Expand(template, 0, (byte*)info->pData, cb.Scratch(template.ScratchBytes)),
        };
        Record2(cb, &push);
    }

    // The shader stages a pipeline bind point covers: what vkCmdPushDescriptorSet2's stageFlags name.
    private static uint StagesOf(VkPipelineBindPoint bindPoint) => bindPoint switch
    {
        VkPipelineBindPoint.VK_PIPELINE_BIND_POINT_COMPUTE => 0x20u,
        VkPipelineBindPoint.VK_PIPELINE_BIND_POINT_RAY_TRACING_KHR => 0x3f00u,
        _ => 0x1fu | 0xc0u, // VK_SHADER_STAGE_ALL_GRAPHICS and the task and mesh stages
    };

    private static void Record2(CommandBuffer cb, VkPushDescriptorSetInfo* info)
    {
        ulong handle = cb.Handle;
        VnEncoder e = cb.Reserve(Commands.vkCmdPushDescriptorSet2.Size(handle, info, cb.StreamFilter));
        Commands.vkCmdPushDescriptorSet2.Encode(ref e, 0, handle, info);
        cb.Commit(in e);
    }

    private static void Record(CommandBuffer cb, VkPipelineBindPoint bindPoint, ulong layout, uint set, uint writeCount, VkWriteDescriptorSet* writes)
    {
        ulong handle = cb.Handle;
        VnEncoder e = cb.Reserve(Commands.vkCmdPushDescriptorSet.Size(handle, bindPoint, layout, set, writeCount, writes, cb.StreamFilter));
        Commands.vkCmdPushDescriptorSet.Encode(ref e, 0, handle, bindPoint, layout, set, writeCount, writes);
        cb.Commit(in e);
    }

    /// <summary>vkUpdateDescriptorSetWithTemplate: one write per template entry, read from the app's data.</summary>
    public static void UpdateWithTemplate(Device device, ulong set, DescriptorUpdateTemplate template, byte* data)
    {
        byte* scratch = (byte*)NativeMemory.Alloc(template.ScratchBytes);
        try
        {
            VkWriteDescriptorSet* writes = Expand(template, set, data, scratch);
            Sends.vkUpdateDescriptorSets(device.Ring, device.Handle, (uint)template.Entries.Length, writes, 0, null);
        }
        finally
        {
            NativeMemory.Free(scratch);
        }
    }

    /// <summary>Scratch bytes <see cref="Expand"/> needs: per entry a write, an inline-block struct and its infos.</summary>
    public static nuint TemplateScratchBytes(VkDescriptorUpdateTemplateEntry[] entries)
    {
        nuint n = (nuint)entries.Length;
        nuint total = n * (nuint)sizeof(VkWriteDescriptorSet) + n * (nuint)sizeof(VkWriteDescriptorSetInlineUniformBlock);
        nuint info = (nuint)Math.Max(sizeof(VkDescriptorImageInfo), sizeof(VkDescriptorBufferInfo));
        foreach (VkDescriptorUpdateTemplateEntry e in entries)
            total += (nuint)e.descriptorCount * info;
        return Math.Max(total, 1);
    }

    /// <summary>
    /// The template's writes for <paramref name="set"/>, read from the app's data at each entry's
    /// offset and stride, already clean (only the pointer the type uses is set), in
    /// <paramref name="scratch"/> (<see cref="DescriptorUpdateTemplate.ScratchBytes"/> long).
    /// </summary>
    private static VkWriteDescriptorSet* Expand(DescriptorUpdateTemplate template, ulong set, byte* data, byte* scratch)
    {
        VkDescriptorUpdateTemplateEntry[] entries = template.Entries;
        int n = entries.Length;
        var writes = (VkWriteDescriptorSet*)scratch;
        var inline = (VkWriteDescriptorSetInlineUniformBlock*)(scratch + n * sizeof(VkWriteDescriptorSet));
        byte* cursor = (byte*)(inline + n);
        for (int i = 0; i < n; i++)
        {
            VkDescriptorUpdateTemplateEntry e = entries[i];
            VkWriteDescriptorSet* w = &writes[i];
            *w = new VkWriteDescriptorSet
            {
                sType = VkWriteDescriptorSet.SType,
                dstSet = set,
                dstBinding = e.dstBinding,
                dstArrayElement = e.dstArrayElement,
                descriptorCount = e.descriptorCount,
                descriptorType = e.descriptorType,
            };
            byte* src = data + e.offset;
            Kind kind = KindOf(e.descriptorType);
            switch (kind)
            {
                case Kind.Image or Kind.Sampler or Kind.ImageOnly:
                {
                    var dst = (VkDescriptorImageInfo*)cursor;
                    for (uint j = 0; j < e.descriptorCount; j++)
                        dst[j] = CleanImage(*(VkDescriptorImageInfo*)(src + j * e.stride), kind);
                    w->pImageInfo = dst;
                    cursor += e.descriptorCount * (uint)sizeof(VkDescriptorImageInfo);
                    break;
                }
                case Kind.Buffer:
                {
                    var dst = (VkDescriptorBufferInfo*)cursor;
                    for (uint j = 0; j < e.descriptorCount; j++)
                        dst[j] = *(VkDescriptorBufferInfo*)(src + j * e.stride);
                    w->pBufferInfo = dst;
                    cursor += e.descriptorCount * (uint)sizeof(VkDescriptorBufferInfo);
                    break;
                }
                case Kind.TexelBuffer:
                {
                    var dst = (ulong*)cursor;
                    for (uint j = 0; j < e.descriptorCount; j++)
                        dst[j] = *(ulong*)(src + j * e.stride);
                    w->pTexelBufferView = dst;
                    cursor += e.descriptorCount * (uint)sizeof(ulong);
                    break;
                }
                default:
                    if (e.descriptorType == VkDescriptorType.VK_DESCRIPTOR_TYPE_INLINE_UNIFORM_BLOCK)
                    {
                        // descriptorCount is a byte count; the bytes sit at offset.
                        inline[i] = new VkWriteDescriptorSetInlineUniformBlock
                        {
                            sType = VkWriteDescriptorSetInlineUniformBlock.SType,
                            dataSize = e.descriptorCount,
                            pData = src,
                        };
                        w->pNext = &inline[i];
                    }
                    break;
            }
        }
        return writes;
    }
}
