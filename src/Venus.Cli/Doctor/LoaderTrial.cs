using System.Runtime.InteropServices;
using System.Text;
using Venus.Protocol;
using Venus.Protocol.Vulkan;

namespace Venus.Cli.Doctor;

/// <summary>A physical device as an application sees it through the Vulkan loader.</summary>
public sealed record TrialDevice(int Index, string Name, string ApiVersion, string Type, string? DriverName,
    uint ExtensionCount, bool IsOurs, bool IsMesaVenus, HashSet<string> Extensions)
{
    /// <summary>The result of creating a device with one queue on it (null: not tried).</summary>
    public string? CreateDeviceResult { get; set; }
}

/// <summary>What a trial through the loader found: null <see cref="Error"/> means the instance was created.</summary>
public sealed record TrialResult(string? Error, string? LoaderVersion, string? InstanceApiVersion, uint InstanceExtensionCount, List<TrialDevice> Devices);

/// <summary>
/// A trial run through the system's Vulkan loader (<c>libvulkan.so.1</c>), in this process and with
/// this process's environment, as an application would: instance version, an instance, the
/// physical devices with their names, API versions, driver names and extension counts, and a
/// device with one queue on each Venus device. Our devices are named "Virtio-GPU Venus.NET (…)",
/// Mesa's "Virtio-GPU Venus (…)".
/// </summary>
public static unsafe class LoaderTrial
{
    public const string OurDevicePrefix = "Virtio-GPU Venus.NET";
    public const string MesaDevicePrefix = "Virtio-GPU Venus (";

    public static TrialResult Run(string loader = "libvulkan.so.1")
    {
        if (!NativeLibrary.TryLoad(loader, out nint lib))
            return new TrialResult($"cannot load the Vulkan loader {loader}", null, null, 0, []);
        var gipa = (delegate* unmanaged<nint, byte*, nint>)NativeLibrary.GetExport(lib, "vkGetInstanceProcAddr");

        var enumerateVersion = (delegate* unmanaged<uint*, VkResult>)Proc(gipa, 0, "vkEnumerateInstanceVersion");
        uint loaderVersion = VenusCapset.MakeVulkanVersion(1, 0, 0);
        if (enumerateVersion != null)
            enumerateVersion(&loaderVersion);
        uint apiVersion = Math.Min(loaderVersion & ~0xFFFu, VenusCapset.MakeVulkanVersion(1, 4, 0));

        var enumerateInstanceExtensions = (delegate* unmanaged<byte*, uint*, VkExtensionProperties*, VkResult>)Proc(gipa, 0, "vkEnumerateInstanceExtensionProperties");
        uint instanceExtensions = 0;
        enumerateInstanceExtensions(null, &instanceExtensions, null);

        var createInstance = (delegate* unmanaged<VkInstanceCreateInfo*, void*, nint*, VkResult>)Proc(gipa, 0, "vkCreateInstance");
        nint instance;
        VkResult r;
        fixed (byte* name = "venus doctor\0"u8)
        {
            var app = new VkApplicationInfo
            {
                sType = VkApplicationInfo.SType, pApplicationName = name, applicationVersion = 1,
                pEngineName = name, engineVersion = 1, apiVersion = apiVersion,
            };
            var info = new VkInstanceCreateInfo { sType = VkInstanceCreateInfo.SType, pApplicationInfo = &app };
            instance = 0;
            r = createInstance(&info, null, &instance);
        }
        string loaderText = VenusCapset.FormatVulkanVersion(loaderVersion);
        if (r != VkResult.VK_SUCCESS)
            return new TrialResult($"vkCreateInstance returned {r}", loaderText, VenusCapset.FormatVulkanVersion(apiVersion), instanceExtensions, []);

        var devices = new List<TrialDevice>();
        try
        {
            var enumerate = (delegate* unmanaged<nint, uint*, nint*, VkResult>)Proc(gipa, instance, "vkEnumeratePhysicalDevices");
            var properties = (delegate* unmanaged<nint, VkPhysicalDeviceProperties*, void>)Proc(gipa, instance, "vkGetPhysicalDeviceProperties");
            var properties2 = (delegate* unmanaged<nint, VkPhysicalDeviceProperties2*, void>)Proc(gipa, instance, "vkGetPhysicalDeviceProperties2");
            var deviceExtensions = (delegate* unmanaged<nint, byte*, uint*, VkExtensionProperties*, VkResult>)Proc(gipa, instance, "vkEnumerateDeviceExtensionProperties");
            var createDevice = (delegate* unmanaged<nint, VkDeviceCreateInfo*, void*, nint*, VkResult>)Proc(gipa, instance, "vkCreateDevice");
            var getDeviceProc = (delegate* unmanaged<nint, byte*, nint>)Proc(gipa, instance, "vkGetDeviceProcAddr");

            uint count = 0;
            r = enumerate(instance, &count, null);
            if (r != VkResult.VK_SUCCESS)
                return new TrialResult($"vkEnumeratePhysicalDevices returned {r}", loaderText, VenusCapset.FormatVulkanVersion(apiVersion), instanceExtensions, devices);
            nint[] handles = new nint[count];
            fixed (nint* p = handles)
                r = enumerate(instance, &count, p);
            if (r is not (VkResult.VK_SUCCESS or VkResult.VK_INCOMPLETE))
                return new TrialResult($"vkEnumeratePhysicalDevices returned {r}", loaderText, VenusCapset.FormatVulkanVersion(apiVersion), instanceExtensions, devices);

            for (int i = 0; i < (int)count; i++)
            {
                VkPhysicalDeviceProperties props;
                properties(handles[i], &props);
                string name = Utf8(props.deviceName, 256);
                string? driverName = null;
                if (properties2 != null && props.apiVersion >= VenusCapset.MakeVulkanVersion(1, 2, 0))
                {
                    var driver = new VkPhysicalDeviceDriverProperties { sType = VkPhysicalDeviceDriverProperties.SType };
                    var p2 = new VkPhysicalDeviceProperties2 { sType = VkPhysicalDeviceProperties2.SType, pNext = &driver };
                    properties2(handles[i], &p2);
                    driverName = Utf8(driver.driverName, 256);
                }
                HashSet<string> extensions = DeviceExtensions(deviceExtensions, handles[i]);
                var device = new TrialDevice(i, name, VenusCapset.FormatVulkanVersion(props.apiVersion), TypeName(props.deviceType),
                    driverName, (uint)extensions.Count, name.StartsWith(OurDevicePrefix, StringComparison.Ordinal),
                    name.StartsWith(MesaDevicePrefix, StringComparison.Ordinal), extensions);
                if (device.IsOurs || device.IsMesaVenus)
                    device.CreateDeviceResult = TryCreateDevice(createDevice, getDeviceProc, handles[i]);
                devices.Add(device);
            }
        }
        finally
        {
            var destroyInstance = (delegate* unmanaged<nint, void*, void>)Proc(gipa, instance, "vkDestroyInstance");
            destroyInstance(instance, null);
        }
        return new TrialResult(null, loaderText, VenusCapset.FormatVulkanVersion(apiVersion), instanceExtensions, devices);
    }

    private static string TryCreateDevice(delegate* unmanaged<nint, VkDeviceCreateInfo*, void*, nint*, VkResult> createDevice,
        delegate* unmanaged<nint, byte*, nint> getDeviceProc, nint physicalDevice)
    {
        float priority = 1;
        var queue = new VkDeviceQueueCreateInfo
        {
            sType = VkDeviceQueueCreateInfo.SType, queueFamilyIndex = 0, queueCount = 1, pQueuePriorities = &priority,
        };
        var info = new VkDeviceCreateInfo { sType = VkDeviceCreateInfo.SType, queueCreateInfoCount = 1, pQueueCreateInfos = &queue };
        nint device = 0;
        VkResult r = createDevice(physicalDevice, &info, null, &device);
        if (r != VkResult.VK_SUCCESS)
            return r.ToString();
        fixed (byte* name = "vkDestroyDevice\0"u8)
        {
            var destroy = (delegate* unmanaged<nint, void*, void>)getDeviceProc(device, name);
            if (destroy != null)
                destroy(device, null);
        }
        return nameof(VkResult.VK_SUCCESS);
    }

    private static HashSet<string> DeviceExtensions(
        delegate* unmanaged<nint, byte*, uint*, VkExtensionProperties*, VkResult> enumerate, nint physicalDevice)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        uint count = 0;
        if (enumerate(physicalDevice, null, &count, null) != VkResult.VK_SUCCESS || count == 0)
            return names;
        var properties = new VkExtensionProperties[count];
        fixed (VkExtensionProperties* p = properties)
        {
            if (enumerate(physicalDevice, null, &count, p) is not (VkResult.VK_SUCCESS or VkResult.VK_INCOMPLETE))
                return names;
            for (int i = 0; i < (int)Math.Min(count, (uint)properties.Length); i++)
                names.Add(Utf8(p[i].extensionName, 256));
        }
        return names;
    }

    private static nint Proc(delegate* unmanaged<nint, byte*, nint> gipa, nint instance, string name)
    {
        Span<byte> bytes = stackalloc byte[name.Length + 1];
        Encoding.ASCII.GetBytes(name, bytes);
        bytes[^1] = 0;
        fixed (byte* p = bytes)
            return gipa(instance, p);
    }

    private static string Utf8(byte* text, int max)
    {
        int n = 0;
        while (n < max && text[n] != 0)
            n++;
        return Encoding.UTF8.GetString(text, n);
    }

    private static string TypeName(VkPhysicalDeviceType type) => type switch
    {
        VkPhysicalDeviceType.VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU => "integrated GPU",
        VkPhysicalDeviceType.VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU => "discrete GPU",
        VkPhysicalDeviceType.VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU => "virtual GPU",
        VkPhysicalDeviceType.VK_PHYSICAL_DEVICE_TYPE_CPU => "CPU",
        _ => "other",
    };
}
