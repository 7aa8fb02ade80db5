using System.Text;
using Venus.Protocol;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using static Venus.Client.VtestVenusSession;

namespace Venus.Client;

/// <summary>
/// The calls of <c>venus probe</c>, each through <see cref="VtestVenusSession"/>: instance
/// version, instance (no layers, no extensions: the host rejects any, fact sheet §1.9), physical
/// devices and, per device, properties, queue families, memory properties and extensions.
/// </summary>
public static unsafe class VenusProbe
{
    /// <summary>The newest API the probe asks for (the instance version is capped to it).</summary>
    public static readonly uint MaxApiVersion = VenusCapset.MakeVulkanVersion(1, 3, 0);

    public static ProbeReport Run(VtestVenusSession s)
    {
        VenusCapset capset = s.Capset;
        var capsetReport = new CapsetReport(capset.WireFormatVersion, capset.VkXmlVersion,
            capset.VkExtCommandSerializationSpecVersion, capset.VkMesaVenusProtocolSpecVersion, capset.ExtensionCount);

        uint version = EnumerateInstanceVersion(s);
        uint apiVersion = Math.Min(version & ~0xFFFu, MaxApiVersion);
        ulong instance = CreateInstance(s, apiVersion);

        var devices = new List<DeviceReport>();
        foreach (ulong device in EnumeratePhysicalDevices(s, instance))
            devices.Add(ProbeDevice(s, device));

        DestroyInstance(s, instance);
        return new ProbeReport(s.SocketPath, s.VtestProtocolVersion, capsetReport, version, apiVersion, devices);
    }

    public static uint EnumerateInstanceVersion(VtestVenusSession s)
    {
        uint version = 0;
        VnEncoder e = s.BeginCall(vkEnumerateInstanceVersion.Size(&version, s.Filter), vkEnumerateInstanceVersion.ReplySize(&version));
        vkEnumerateInstanceVersion.Encode(ref e, Reply, &version);
        VnDecoder d = s.Submit(e);
        s.Check(d, vkEnumerateInstanceVersion.DecodeReply(ref d, &version));
        return version;
    }

    public static ulong CreateInstance(VtestVenusSession s, uint apiVersion)
    {
        fixed (byte* appName = "venus\0"u8)
        {
            var app = new VkApplicationInfo
            {
                sType = VkApplicationInfo.SType,
                pApplicationName = appName,
                applicationVersion = 1,
                pEngineName = appName,
                engineVersion = 1,
                apiVersion = apiVersion,
            };
            var info = new VkInstanceCreateInfo { sType = VkInstanceCreateInfo.SType, pApplicationInfo = &app };
            ulong instance = s.NewObjectId();

            VnEncoder e = s.BeginCall(vkCreateInstance.Size(&info, null, &instance, s.Filter), vkCreateInstance.ReplySize(&info, null, &instance));
            vkCreateInstance.Encode(ref e, Reply, &info, null, &instance);
            VnDecoder d = s.Submit(e);
            s.Check(d, vkCreateInstance.DecodeReply(ref d, &info, null, &instance));
            return instance;
        }
    }

    public static ulong[] EnumeratePhysicalDevices(VtestVenusSession s, ulong instance)
    {
        uint count = 0;
        VnEncoder e = s.BeginCall(vkEnumeratePhysicalDevices.Size(instance, &count, null, s.Filter), vkEnumeratePhysicalDevices.ReplySize(instance, &count, null));
        vkEnumeratePhysicalDevices.Encode(ref e, Reply, instance, &count, null);
        VnDecoder d = s.Submit(e);
        s.Check(d, vkEnumeratePhysicalDevices.DecodeReply(ref d, instance, &count, null));

        // The guest chooses the ids of the physical devices too (§8.2); the host echoes them.
        var ids = new ulong[count];
        for (int i = 0; i < ids.Length; i++)
            ids[i] = s.NewObjectId();
        fixed (ulong* pIds = ids)
        {
            e = s.BeginCall(vkEnumeratePhysicalDevices.Size(instance, &count, pIds, s.Filter), vkEnumeratePhysicalDevices.ReplySize(instance, &count, pIds));
            vkEnumeratePhysicalDevices.Encode(ref e, Reply, instance, &count, pIds);
            d = s.Submit(e);
            s.Check(d, vkEnumeratePhysicalDevices.DecodeReply(ref d, instance, &count, pIds));
        }
        return ids[..(int)Math.Min(count, (uint)ids.Length)];
    }

    public static DeviceReport ProbeDevice(VtestVenusSession s, ulong device)
    {
        VkPhysicalDeviceProperties props = GetProperties(s, device);
        VkPhysicalDeviceMemoryProperties memory = GetMemoryProperties(s, device);
        var heaps = new List<MemoryHeapReport>();
        for (int i = 0; i < Math.Min(memory.memoryHeapCount, 16u); i++)
        {
            VkMemoryHeap heap = ((VkMemoryHeap*)&memory.memoryHeaps)[i];
            heaps.Add(new MemoryHeapReport(heap.size, heap.flags));
        }
        var types = new List<MemoryTypeReport>();
        for (int i = 0; i < Math.Min(memory.memoryTypeCount, 32u); i++)
        {
            VkMemoryType type = ((VkMemoryType*)&memory.memoryTypes)[i];
            types.Add(new MemoryTypeReport(type.propertyFlags, type.heapIndex));
        }

        return new DeviceReport(device, CString(props.deviceName, 256), props.apiVersion, props.driverVersion,
            props.vendorID, props.deviceID, props.deviceType,
            GetQueueFamilies(s, device), heaps, types, EnumerateDeviceExtensions(s, device));
    }

    public static VkPhysicalDeviceProperties GetProperties(VtestVenusSession s, ulong device)
    {
        VkPhysicalDeviceProperties props;
        VnEncoder e = s.BeginCall(vkGetPhysicalDeviceProperties.Size(device, &props, s.Filter), vkGetPhysicalDeviceProperties.ReplySize(device, &props));
        vkGetPhysicalDeviceProperties.Encode(ref e, Reply, device, &props);
        VnDecoder d = s.Submit(e);
        vkGetPhysicalDeviceProperties.DecodeReply(ref d, device, &props);
        s.Check(d);
        return props;
    }

    public static VkPhysicalDeviceMemoryProperties GetMemoryProperties(VtestVenusSession s, ulong device)
    {
        VkPhysicalDeviceMemoryProperties memory;
        VnEncoder e = s.BeginCall(vkGetPhysicalDeviceMemoryProperties.Size(device, &memory, s.Filter), vkGetPhysicalDeviceMemoryProperties.ReplySize(device, &memory));
        vkGetPhysicalDeviceMemoryProperties.Encode(ref e, Reply, device, &memory);
        VnDecoder d = s.Submit(e);
        vkGetPhysicalDeviceMemoryProperties.DecodeReply(ref d, device, &memory);
        s.Check(d);
        return memory;
    }

    public static QueueFamilyReport[] GetQueueFamilies(VtestVenusSession s, ulong device)
    {
        uint count = 0;
        VnEncoder e = s.BeginCall(vkGetPhysicalDeviceQueueFamilyProperties.Size(device, &count, null, s.Filter), vkGetPhysicalDeviceQueueFamilyProperties.ReplySize(device, &count, null));
        vkGetPhysicalDeviceQueueFamilyProperties.Encode(ref e, Reply, device, &count, null);
        VnDecoder d = s.Submit(e);
        vkGetPhysicalDeviceQueueFamilyProperties.DecodeReply(ref d, device, &count, null);
        s.Check(d);

        var families = new VkQueueFamilyProperties[count];
        fixed (VkQueueFamilyProperties* p = families)
        {
            e = s.BeginCall(vkGetPhysicalDeviceQueueFamilyProperties.Size(device, &count, p, s.Filter), vkGetPhysicalDeviceQueueFamilyProperties.ReplySize(device, &count, p));
            vkGetPhysicalDeviceQueueFamilyProperties.Encode(ref e, Reply, device, &count, p);
            d = s.Submit(e);
            vkGetPhysicalDeviceQueueFamilyProperties.DecodeReply(ref d, device, &count, p);
            s.Check(d);
        }
        return families[..(int)Math.Min(count, (uint)families.Length)]
            .Select(f => new QueueFamilyReport(f.queueFlags, f.queueCount, f.timestampValidBits,
                f.minImageTransferGranularity.width, f.minImageTransferGranularity.height, f.minImageTransferGranularity.depth))
            .ToArray();
    }

    public static ExtensionReport[] EnumerateDeviceExtensions(VtestVenusSession s, ulong device)
    {
        uint count = 0;
        VnEncoder e = s.BeginCall(vkEnumerateDeviceExtensionProperties.Size(device, null, &count, null, s.Filter), vkEnumerateDeviceExtensionProperties.ReplySize(device, null, &count, null));
        vkEnumerateDeviceExtensionProperties.Encode(ref e, Reply, device, null, &count, null);
        VnDecoder d = s.Submit(e);
        s.Check(d, vkEnumerateDeviceExtensionProperties.DecodeReply(ref d, device, null, &count, null));

        var extensions = new VkExtensionProperties[count];
        fixed (VkExtensionProperties* p = extensions)
        {
            e = s.BeginCall(vkEnumerateDeviceExtensionProperties.Size(device, null, &count, p, s.Filter), vkEnumerateDeviceExtensionProperties.ReplySize(device, null, &count, p));
            vkEnumerateDeviceExtensionProperties.Encode(ref e, Reply, device, null, &count, p);
            d = s.Submit(e);
            s.Check(d, vkEnumerateDeviceExtensionProperties.DecodeReply(ref d, device, null, &count, p));
            var result = new ExtensionReport[Math.Min(count, (uint)extensions.Length)];
            for (int i = 0; i < result.Length; i++)
                result[i] = new ExtensionReport(CString(p[i].extensionName, 256), p[i].specVersion);
            return result;
        }
    }

    public static void DestroyInstance(VtestVenusSession s, ulong instance)
    {
        VnEncoder e = s.BeginCommand(vkDestroyInstance.Size(instance, null, s.Filter));
        vkDestroyInstance.Encode(ref e, NoReply, instance, null);
        s.Submit(e);
    }

    private static string CString(byte* chars, int capacity)
    {
        var span = new ReadOnlySpan<byte>(chars, capacity);
        int end = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }
}
