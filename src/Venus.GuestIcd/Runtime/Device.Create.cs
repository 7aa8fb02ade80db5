using System.Runtime.InteropServices;
using Venus.GuestIcd.Generated;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

internal sealed unsafe partial class Device
{
    public static VkResult Create(PhysicalDevice physicalDevice, VkDeviceCreateInfo* createInfo, ulong* pDevice)
    {
        var enabled = new HashSet<string>(StringComparer.Ordinal);
        for (uint i = 0; i < createInfo->enabledExtensionCount; i++)
        {
            string name = Marshal.PtrToStringUTF8((nint)createInfo->ppEnabledExtensionNames[i]) ?? "";
            if (!physicalDevice.HasExtension(name))
            {
                IcdLog.Info($"vkCreateDevice: device extension {name} is not supported");
                return VkResult.VK_ERROR_EXTENSION_NOT_PRESENT;
            }
            enabled.Add(name);
        }

        // Device-memory report structs are not in the protocol (the encoder leaves them out); the
        // callbacks stay here.
        var reports = new List<(nint, nint)>();
        for (var s = (VkBaseOutStructure*)createInfo->pNext; s != null; s = s->pNext)
            if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_DEVICE_DEVICE_MEMORY_REPORT_CREATE_INFO_EXT)
            {
                var report = (VkDeviceDeviceMemoryReportCreateInfoEXT*)s;
                if (report->pfnUserCallback != 0)
                    reports.Add((report->pfnUserCallback, (nint)report->pUserData));
            }

        var device = new Device(physicalDevice, enabled, reports.ToArray());
        for (var s = (VkBaseOutStructure*)createInfo->pNext; s != null; s = s->pNext)
            if ((s->sType == VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MULTIVIEW_FEATURES && ((VkPhysicalDeviceMultiviewFeatures*)s)->multiview != 0)
                || (s->sType == VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES && ((VkPhysicalDeviceVulkan11Features*)s)->multiview != 0))
                device.MultiviewEnabled = true;
        GuestRing ring = device.Ring;
        VkDeviceCreateInfo hostInfo = *createInfo;
        hostInfo.enabledLayerCount = 0;
        hostInfo.ppEnabledLayerNames = null;
        // Only the host's own extensions are enabled there; the ones this driver answers alone are not.
        byte** hostNames = stackalloc byte*[(int)Math.Min(createInfo->enabledExtensionCount, 1024u)];
        uint hostCount = 0;
        for (uint i = 0; i < createInfo->enabledExtensionCount && hostCount < 1024; i++)
        {
            string name = Marshal.PtrToStringUTF8((nint)createInfo->ppEnabledExtensionNames[i]) ?? "";
            if (physicalDevice.IsHostExtension(name))
                hostNames[hostCount++] = createInfo->ppEnabledExtensionNames[i];
        }
        hostInfo.enabledExtensionCount = hostCount;
        hostInfo.ppEnabledExtensionNames = hostCount == 0 ? null : hostNames;
        ulong id = device.Handle;
        VkResult r = Calls.vkCreateDevice(ring, physicalDevice.Handle, &hostInfo, null, &id);
        if (r != VkResult.VK_SUCCESS)
        {
            device.ReleaseHandle();
            return Icd.Trace(r, "vkCreateDevice");
        }

        // Every queue is fetched now, each with its own timeline (ring_idx) when the host has them (§8.5).
        bool timelines = physicalDevice.Instance.Capset.SupportsMultipleTimelines;
        for (uint i = 0; i < createInfo->queueCreateInfoCount; i++)
        {
            VkDeviceQueueCreateInfo* q = &createInfo->pQueueCreateInfos[i];
            for (uint index = 0; index < q->queueCount; index++)
            {
                var queue = new Queue(device, q->queueFamilyIndex, index, q->flags,
                    timelines ? physicalDevice.Instance.AllocateTimeline() : 0);
                var timeline = new VkDeviceQueueTimelineInfoMESA { sType = VkDeviceQueueTimelineInfoMESA.SType, ringIdx = queue.RingIdx };
                var info = new VkDeviceQueueInfo2
                {
                    sType = VkDeviceQueueInfo2.SType,
                    pNext = queue.RingIdx != 0 ? &timeline : null,
                    flags = q->flags,
                    queueFamilyIndex = q->queueFamilyIndex,
                    queueIndex = index,
                };
                ulong queueId = queue.Handle;
                Sends.vkGetDeviceQueue2(ring, device.Handle, &info, &queueId);
                device._queues.Add(queue);
            }
        }
        *pDevice = device.Handle;
        return VkResult.VK_SUCCESS;
    }
}
