using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;
using CommandBuffer = Venus.GuestIcd.Runtime.CommandBuffer;

namespace Venus.GuestIcd.Families;

/// <summary>Hand-written commands of descriptor updates, update templates and push descriptors (cleaned writes). See Families/IcdCommands.cs for how to add one.</summary>
internal static unsafe partial class IcdCommands
{
    internal static partial void vkUpdateDescriptorSets(ulong device, uint descriptorWriteCount, VkWriteDescriptorSet* pDescriptorWrites, uint descriptorCopyCount, VkCopyDescriptorSet* pDescriptorCopies)
    {
        Descriptors.Update(Dev(device), descriptorWriteCount, pDescriptorWrites, descriptorCopyCount, pDescriptorCopies);
    }

    // Templates live in the guest only: updates with them become vkUpdateDescriptorSets.
    internal static partial VkResult vkCreateDescriptorUpdateTemplate(ulong device, VkDescriptorUpdateTemplateCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pDescriptorUpdateTemplate)
    {
        var dev = Dev(device);
        var entries = new VkDescriptorUpdateTemplateEntry[pCreateInfo->descriptorUpdateEntryCount];
        for (int i = 0; i < entries.Length; i++)
            entries[i] = pCreateInfo->pDescriptorUpdateEntries[i];
        ulong id = dev.Instance.NewObjectId();
        dev.Templates[id] = new DescriptorUpdateTemplate(entries, pCreateInfo->templateType, pCreateInfo->pipelineBindPoint);
        *pDescriptorUpdateTemplate = id;
        return VkResult.VK_SUCCESS;
    }

    internal static partial void vkDestroyDescriptorUpdateTemplate(ulong device, ulong descriptorUpdateTemplate, VkAllocationCallbacks* pAllocator)
    {
        Dev(device).Templates.TryRemove(descriptorUpdateTemplate, out _);
    }

    internal static partial void vkUpdateDescriptorSetWithTemplate(ulong device, ulong descriptorSet, ulong descriptorUpdateTemplate, void* pData)
    {
        var dev = Dev(device);
        if (!dev.Templates.TryGetValue(descriptorUpdateTemplate, out DescriptorUpdateTemplate? t))
            throw new InvalidOperationException($"unknown descriptor update descriptorUpdateTemplate 0x{descriptorUpdateTemplate:x}");
        Descriptors.UpdateWithTemplate(dev, descriptorSet, t, (byte*)pData);
    }

    // Push descriptors are recorded like every vkCmd*: no allocation once the command buffer's
    // scratch has grown; the writes are cleaned (or, for a template, built) there.
    internal static partial void vkCmdPushDescriptorSet(ulong commandBuffer, VkPipelineBindPoint pipelineBindPoint, ulong layout, uint set, uint descriptorWriteCount, VkWriteDescriptorSet* pDescriptorWrites)
    {
        try
        {
            Descriptors.Push(CommandBuffer.FromHandle(commandBuffer), pipelineBindPoint, layout, set, descriptorWriteCount, pDescriptorWrites);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdPushDescriptorSet");
        }
    }

    internal static partial void vkCmdPushDescriptorSetWithTemplate(ulong commandBuffer, ulong descriptorUpdateTemplate, ulong layout, uint set, void* pData)
    {
        try
        {
            var cb = CommandBuffer.FromHandle(commandBuffer);
            if (!cb.Device.Templates.TryGetValue(descriptorUpdateTemplate, out DescriptorUpdateTemplate? t))
                throw new InvalidOperationException($"unknown descriptor update template 0x{descriptorUpdateTemplate:x}");
            Descriptors.PushWithTemplate(cb, t, layout, set, (byte*)pData);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdPushDescriptorSetWithTemplate");
        }
    }

    internal static partial void vkCmdPushDescriptorSet2(ulong commandBuffer, VkPushDescriptorSetInfo* pPushDescriptorSetInfo)
    {
        try
        {
            Descriptors.Push2(CommandBuffer.FromHandle(commandBuffer), pPushDescriptorSetInfo);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdPushDescriptorSet2");
        }
    }

    internal static partial void vkCmdPushDescriptorSetWithTemplate2(ulong commandBuffer, VkPushDescriptorSetWithTemplateInfo* pPushDescriptorSetWithTemplateInfo)
    {
        try
        {
            var cb = CommandBuffer.FromHandle(commandBuffer);
            if (!cb.Device.Templates.TryGetValue(pPushDescriptorSetWithTemplateInfo->descriptorUpdateTemplate, out DescriptorUpdateTemplate? t))
                throw new InvalidOperationException($"unknown descriptor update template 0x{pPushDescriptorSetWithTemplateInfo->descriptorUpdateTemplate:x}");
            Descriptors.PushWithTemplate2(cb, t, pPushDescriptorSetWithTemplateInfo);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdPushDescriptorSetWithTemplate2");
        }
    }
}
