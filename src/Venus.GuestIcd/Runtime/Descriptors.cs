using System.Runtime.InteropServices;
using Venus.GuestIcd.Generated;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>A descriptor update template, kept in the guest: updates with it are expanded into vkUpdateDescriptorSets.</summary>
internal sealed class DescriptorUpdateTemplate(VkDescriptorUpdateTemplateEntry[] entries)
{
    public VkDescriptorUpdateTemplateEntry[] Entries { get; } = entries;
}

/// <summary>
/// Descriptor writes as the protocol needs them: the encoder follows every non-NULL pointer, so the
/// pointers and handles the Vulkan spec says are ignored for a descriptor type are cleared first
/// (an app may leave garbage there, and the host would look the garbage up as an object id).
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

    /// <summary>Sends vkUpdateDescriptorSets with the writes cleaned (async, like every void update).</summary>
    public static void Update(Device device, uint writeCount, VkWriteDescriptorSet* writes, uint copyCount, VkCopyDescriptorSet* copies)
    {
        uint imageCount = 0;
        for (uint i = 0; i < writeCount; i++)
            if (KindOf(writes[i].descriptorType) is Kind.Image or Kind.Sampler or Kind.ImageOnly && writes[i].pImageInfo != null)
                imageCount += writes[i].descriptorCount;

        nuint bytes = (nuint)writeCount * (nuint)sizeof(VkWriteDescriptorSet) + (nuint)imageCount * (nuint)sizeof(VkDescriptorImageInfo);
        byte* scratch = (byte*)NativeMemory.Alloc(Math.Max(bytes, 1));
        try
        {
            var clean = (VkWriteDescriptorSet*)scratch;
            var images = (VkDescriptorImageInfo*)(scratch + writeCount * sizeof(VkWriteDescriptorSet));
            for (uint i = 0; i < writeCount; i++)
            {
                VkWriteDescriptorSet w = writes[i];
                Kind kind = KindOf(w.descriptorType);
                switch (kind)
                {
                    case Kind.Image or Kind.Sampler or Kind.ImageOnly:
                        w.pBufferInfo = null;
                        w.pTexelBufferView = null;
                        if (w.pImageInfo != null)
                        {
                            for (uint j = 0; j < w.descriptorCount; j++)
                            {
                                VkDescriptorImageInfo info = w.pImageInfo[j];
                                if (kind == Kind.ImageOnly)
                                    info.sampler = 0;
                                else if (kind == Kind.Sampler)
                                    info.imageView = 0;
                                images[j] = info;
                            }
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
            Sends.vkUpdateDescriptorSets(device.Ring, device.Handle, writeCount, clean, copyCount, copies);
        }
        finally
        {
            NativeMemory.Free(scratch);
        }
    }

    /// <summary>vkUpdateDescriptorSetWithTemplate: one write per template entry, read from the app's data.</summary>
    public static void UpdateWithTemplate(Device device, ulong set, DescriptorUpdateTemplate template, byte* data)
    {
        VkDescriptorUpdateTemplateEntry[] entries = template.Entries;
        int n = entries.Length;
        // Per entry: the write, its infos (at most descriptorCount of the largest info), an inline block.
        nuint total = 0;
        foreach (VkDescriptorUpdateTemplateEntry e in entries)
            total += (nuint)e.descriptorCount * (nuint)Math.Max(sizeof(VkDescriptorImageInfo), sizeof(VkDescriptorBufferInfo));
        var writes = (VkWriteDescriptorSet*)NativeMemory.AllocZeroed((nuint)Math.Max(n, 1), (nuint)sizeof(VkWriteDescriptorSet));
        var inline = (VkWriteDescriptorSetInlineUniformBlock*)NativeMemory.AllocZeroed((nuint)Math.Max(n, 1), (nuint)sizeof(VkWriteDescriptorSetInlineUniformBlock));
        byte* infos = (byte*)NativeMemory.Alloc(Math.Max(total, 1));
        try
        {
            byte* cursor = infos;
            for (int i = 0; i < n; i++)
            {
                VkDescriptorUpdateTemplateEntry e = entries[i];
                VkWriteDescriptorSet* w = &writes[i];
                w->sType = VkWriteDescriptorSet.SType;
                w->dstSet = set;
                w->dstBinding = e.dstBinding;
                w->dstArrayElement = e.dstArrayElement;
                w->descriptorCount = e.descriptorCount;
                w->descriptorType = e.descriptorType;
                byte* src = data + e.offset;
                switch (KindOf(e.descriptorType))
                {
                    case Kind.Image or Kind.Sampler or Kind.ImageOnly:
                    {
                        var dst = (VkDescriptorImageInfo*)cursor;
                        for (uint j = 0; j < e.descriptorCount; j++)
                            dst[j] = *(VkDescriptorImageInfo*)(src + j * e.stride);
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
            Update(device, (uint)n, writes, 0, null);
        }
        finally
        {
            NativeMemory.Free(infos);
            NativeMemory.Free(inline);
            NativeMemory.Free(writes);
        }
    }
}
