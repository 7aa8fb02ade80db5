using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>VK_EXT_device_memory_report callbacks and imported host memory (VK_EXT_external_memory_host) of a device.</summary>
internal sealed unsafe partial class Device
{
    public bool ReportsMemory => _memoryReports.Length != 0;

    /// <summary>Tells the VK_EXT_device_memory_report callbacks about a VkDeviceMemory event.</summary>
    public void ReportMemory(VkDeviceMemoryReportEventTypeEXT type, ulong memoryId, ulong size, uint typeIndex)
    {
        var data = new VkDeviceMemoryReportCallbackDataEXT
        {
            sType = VkDeviceMemoryReportCallbackDataEXT.SType,
            type = type,
            memoryObjectId = memoryId,
            size = size,
            objectType = VkObjectType.VK_OBJECT_TYPE_DEVICE_MEMORY,
            objectHandle = memoryId,
            heapIndex = typeIndex < PhysicalDevice.MemoryProperties.memoryTypeCount
                ? PhysicalDevice.MemoryProperties.memoryTypes[(int)typeIndex].heapIndex : 0,
        };
        foreach ((nint callback, nint userData) in _memoryReports)
            ((delegate* unmanaged<VkDeviceMemoryReportCallbackDataEXT*, void*, void>)callback)(&data, (void*)userData);
    }

    public void AddHostImport(HostPointerMemory m)
    {
        lock (_hostImportsLock)
            _hostImports = [.. _hostImports, m];
    }

    public void RemoveHostImport(HostPointerMemory m)
    {
        lock (_hostImportsLock)
            _hostImports = Array.FindAll(_hostImports, x => x != m);
    }

    /// <summary>Before the device may read: the app's writes to imported host memory go to the device (no-op without imports).</summary>
    public void PushHostWrites()
    {
        foreach (HostPointerMemory m in _hostImports)
            m.Push();
    }

    /// <summary>Whether the app imported host memory (VK_EXT_external_memory_host): only then have the sync points work to do.</summary>
    public bool HasHostImports => Volatile.Read(ref _hostImports).Length != 0;

    /// <summary>After the app observed completion: the device's writes to imported host memory come back.</summary>
    public void PullDeviceWrites()
    {
        foreach (HostPointerMemory m in _hostImports)
            m.Pull();
    }
}
