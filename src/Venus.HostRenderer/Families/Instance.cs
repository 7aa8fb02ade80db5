using Venus.HostRenderer.Context;
using Venus.HostRenderer.Native;
using Venus.Protocol;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer;

internal sealed unsafe partial class Handlers
{
    const int ObjInstance = 1, ObjPhysicalDevice = 2;
    const uint Vulkan11 = (1u << 22) | (1u << 12);

    ulong _instanceId;
    ulong _instance;
    int _instanceTable = -1;

    public bool vkEnumerateInstanceVersion(Dispatcher x, vkEnumerateInstanceVersion.Args* a)
    {
        uint v = (1u << 22);
        var fn = _ctx.Vk.Global->vkEnumerateInstanceVersion;
        a->ret = fn == null ? VkResult.VK_SUCCESS : fn(&v);
        // Never more than the protocol can carry.
        if (a->pApiVersion != null) *a->pApiVersion = Math.Min(v, VenusProtocolInfo.VkXmlVersion);
        return true;
    }

    public bool vkEnumerateInstanceExtensionProperties(Dispatcher x, vkEnumerateInstanceExtensionProperties.Args* a)
    {
        // Instance extensions are implemented by guests; the host offers none (as virglrenderer).
        if (a->pPropertyCount != null) *a->pPropertyCount = 0;
        a->ret = VkResult.VK_SUCCESS;
        return true;
    }

    public bool vkEnumerateInstanceLayerProperties(Dispatcher x, vkEnumerateInstanceLayerProperties.Args* a)
    {
        if (a->pPropertyCount != null) *a->pPropertyCount = 0;
        a->ret = VkResult.VK_SUCCESS;
        return true;
    }

    public bool vkCreateInstance(Dispatcher x, vkCreateInstance.Args* a)
    {
        if (_instanceId != 0) return Fatal("vkCreateInstance: the context already has an instance");
        var ci = *a->pCreateInfo;
        if (ci.enabledLayerCount != 0) { a->ret = VkResult.VK_ERROR_LAYER_NOT_PRESENT; return true; }
        if (ci.enabledExtensionCount != 0) { a->ret = VkResult.VK_ERROR_EXTENSION_NOT_PRESENT; return true; }
        VkApplicationInfo app = ci.pApplicationInfo != null ? *ci.pApplicationInfo : new VkApplicationInfo { sType = VkApplicationInfo.SType };
        app.pNext = null;
        app.apiVersion = Math.Max(app.apiVersion, Vulkan11);
        ci.pApplicationInfo = &app;
        ci.pNext = null; // no instance-level structs travel to the driver
        ci.flags = 0;
        ulong instance = 0;
        a->ret = _ctx.Vk.Global->vkCreateInstance(&ci, null, &instance);
        if (a->ret != VkResult.VK_SUCCESS) return true;
        var table = _ctx.Vk.LoadInstance(instance);
        DrmModifiers.WrapInstance(table);
        int index = _ctx.AddInstanceTable(table);
        if (!x.Register(*a->pInstance, instance, ObjInstance, index, 0))
        {
            table->vkDestroyInstance(instance, null);
            return false;
        }
        _instanceId = *a->pInstance;
        _instance = instance;
        _instanceTable = index;
        return true;
    }

    public bool vkDestroyInstance(Dispatcher x, vkDestroyInstance.Args* a)
    {
        if (a->instance == 0) return true;
        DestroyAllDevices();
        if (!_deviceLeftBusy) x.InstanceFunctions->vkDestroyInstance(a->instance, null);
        foreach (var (id, o) in _ctx.Objects.Snapshot()) if (o.Type == ObjPhysicalDevice) _ctx.Objects.Remove(id, out _);
        _ctx.Objects.Remove(_instanceId, out _);
        _instanceId = 0;
        _instance = 0;
        return true;
    }

    /// <summary>Real physical devices of at least Vulkan 1.1, in driver order.</summary>
    List<ulong> HostPhysicalDevices(VkInstanceFunctions* fns, ulong instance, out VkResult result)
    {
        var list = new List<ulong>();
        uint n = 0;
        result = fns->vkEnumeratePhysicalDevices(instance, &n, null);
        if (result < 0 || n == 0) return list;
        var all = new ulong[n];
        fixed (ulong* p = all) result = fns->vkEnumeratePhysicalDevices(instance, &n, p);
        if (result < 0) return list;
        for (int i = 0; i < n; i++)
        {
            VkPhysicalDeviceProperties props;
            fns->vkGetPhysicalDeviceProperties(all[i], &props);
            if (props.apiVersion >= Vulkan11) list.Add(all[i]);
        }
        result = VkResult.VK_SUCCESS;
        return list;
    }

    public bool vkEnumeratePhysicalDevices(Dispatcher x, vkEnumeratePhysicalDevices.Args* a)
    {
        var devices = HostPhysicalDevices(x.InstanceFunctions, a->instance, out var r);
        if (r < 0) { a->ret = r; return true; }
        if (a->pPhysicalDevices == null)
        {
            *a->pPhysicalDeviceCount = (uint)devices.Count;
            a->ret = VkResult.VK_SUCCESS;
            return true;
        }
        uint k = Math.Min(*a->pPhysicalDeviceCount, (uint)devices.Count);
        for (int i = 0; i < k; i++)
        {
            ulong id = a->pPhysicalDevices[i];
            if (_ctx.Objects.TryGet(id, out var known))
            {
                // Later enumerations must name each device with the id it got the first time (§9).
                if (known.Type != ObjPhysicalDevice || known.Handle != devices[i]) return Fatal($"vkEnumeratePhysicalDevices: id 0x{id:x} changed meaning");
                continue;
            }
            if (_ctx.Objects.IdOf(devices[i], ObjPhysicalDevice) != 0) return Fatal("vkEnumeratePhysicalDevices: a device got a second id");
            if (!x.Register(id, devices[i], ObjPhysicalDevice, x.FirstTable, _instanceId)) return false;
        }
        *a->pPhysicalDeviceCount = k;
        a->ret = k < devices.Count ? VkResult.VK_INCOMPLETE : VkResult.VK_SUCCESS;
        return true;
    }

    public bool vkEnumeratePhysicalDeviceGroups(Dispatcher x, vkEnumeratePhysicalDeviceGroups.Args* a)
    {
        var fn = x.InstanceFunctions->vkEnumeratePhysicalDeviceGroups;
        if (fn == null) return x.MissingFunction((int)Venus.Protocol.Commands.vkEnumeratePhysicalDeviceGroups.Type);
        a->ret = fn(a->instance, a->pPhysicalDeviceGroupCount, a->pPhysicalDeviceGroupProperties);
        if (a->ret < 0 || a->pPhysicalDeviceGroupProperties == null) return true;
        // The guest sees its own ids for the devices it enumerated (§8.2).
        for (uint g = 0; g < *a->pPhysicalDeviceGroupCount; g++)
        {
            var group = &a->pPhysicalDeviceGroupProperties[g];
            for (int i = 0; i < 32; i++)
                group->physicalDevices[i] = i < group->physicalDeviceCount ? _ctx.Objects.IdOf(group->physicalDevices[i], ObjPhysicalDevice) : 0;
        }
        return true;
    }

    public bool vkGetPhysicalDeviceProperties(Dispatcher x, vkGetPhysicalDeviceProperties.Args* a)
    {
        x.InstanceFunctions->vkGetPhysicalDeviceProperties(a->physicalDevice, a->pProperties);
        a->pProperties->apiVersion = Math.Min(a->pProperties->apiVersion, VenusProtocolInfo.VkXmlVersion);
        return true;
    }

    public bool vkGetPhysicalDeviceProperties2(Dispatcher x, vkGetPhysicalDeviceProperties2.Args* a)
    {
        var fn = x.InstanceFunctions->vkGetPhysicalDeviceProperties2;
        if (fn == null) return x.MissingFunction((int)Venus.Protocol.Commands.vkGetPhysicalDeviceProperties2.Type);
        fn(a->physicalDevice, a->pProperties);
        a->pProperties->properties.apiVersion = Math.Min(a->pProperties->properties.apiVersion, VenusProtocolInfo.VkXmlVersion);
        return true;
    }

    /// <summary>The driver's device extensions with their spec versions.</summary>
    static List<(string Name, uint Spec)> DriverExtensions(VkInstanceFunctions* fns, ulong physicalDevice) =>
        DriverExtensions(fns->vkEnumerateDeviceExtensionProperties, physicalDevice);

    /// <summary>The same through the driver's own vkEnumerateDeviceExtensionProperties (for shims that hold only that).</summary>
    internal static List<(string Name, uint Spec)> DriverExtensions(
        delegate* unmanaged<ulong, byte*, uint*, VkExtensionProperties*, VkResult> enumerate, ulong physicalDevice)
    {
        var result = new List<(string, uint)>();
        uint n = 0;
        if (enumerate(physicalDevice, null, &n, null) < 0 || n == 0) return result;
        var props = new VkExtensionProperties[n];
        fixed (VkExtensionProperties* p = props)
            if (enumerate(physicalDevice, null, &n, p) < 0) return result;
        for (int i = 0; i < n; i++)
            fixed (byte* s = props[i].extensionName)
                result.Add((new string((sbyte*)s), props[i].specVersion));
        return result;
    }

    /// <summary>Extensions the host offers: the driver's, where the protocol carries them.</summary>
    static List<(string Name, uint Spec)> OfferedExtensions(List<(string Name, uint Spec)> driver)
    {
        var result = new List<(string, uint)>();
        foreach (var (name, spec) in driver)
        {
            var x = ProtocolExtension(name);
            if (x == null) continue;
            if (!x.Value.CommandsTravel && !ImplementedByGuests.Contains(name)) continue;
            result.Add((name, Math.Min(spec, (uint)x.Value.SpecVersion)));
        }
        // Binary SYNC_FD imports are emulated where the driver has no external semaphores (Families/Sync.cs).
        if (!driver.Any(e => e.Name == SemaphoreFdExtension) && ProtocolExtension(SemaphoreFdExtension) is { } semaphoreFd)
            result.Add((SemaphoreFdExtension, (uint)semaphoreFd.SpecVersion));
        // DRM format modifiers (LINEAR only) are emulated where the driver has none (Families/DrmModifiers.cs).
        if (DrmModifiers.Needed(driver) && ProtocolExtension(DrmModifiers.Extension) is { } modifiers)
            result.Add((DrmModifiers.Extension, (uint)modifiers.SpecVersion));
        return result;
    }

    /// <summary>
    /// Extensions whose untravelled commands guests implement themselves (templates, WSI, mapping,
    /// host image copies through the spec-3 commands, acceleration structures' host-side builds and
    /// copies, which guests refuse with accelerationStructureHostCommands false).
    /// </summary>
    static readonly HashSet<string> ImplementedByGuests = new()
    {
        "VK_KHR_device_group", "VK_KHR_push_descriptor", "VK_KHR_descriptor_update_template", "VK_KHR_map_memory2",
        "VK_EXT_extended_dynamic_state3", "VK_KHR_maintenance6", "VK_EXT_host_image_copy", "VK_KHR_acceleration_structure",
    };

    static readonly Dictionary<string, VenusExtension> ByName = VenusProtocolInfo.Extensions.ToDictionary(x => x.Name);

    static VenusExtension? ProtocolExtension(string name) => ByName.TryGetValue(name, out var x) ? x : null;

    public bool vkEnumerateDeviceExtensionProperties(Dispatcher x, vkEnumerateDeviceExtensionProperties.Args* a)
    {
        if (a->pLayerName != null) { a->ret = VkResult.VK_ERROR_LAYER_NOT_PRESENT; return true; }
        var offered = OfferedExtensions(DriverExtensions(x.InstanceFunctions, a->physicalDevice));
        if (a->pProperties == null)
        {
            *a->pPropertyCount = (uint)offered.Count;
            a->ret = VkResult.VK_SUCCESS;
            return true;
        }
        uint k = Math.Min(*a->pPropertyCount, (uint)offered.Count);
        for (int i = 0; i < k; i++)
        {
            var p = &a->pProperties[i];
            *p = default;
            var bytes = System.Text.Encoding.ASCII.GetBytes(offered[i].Name);
            for (int j = 0; j < bytes.Length && j < 255; j++) p->extensionName[j] = bytes[j];
            p->specVersion = offered[i].Spec;
        }
        *a->pPropertyCount = k;
        a->ret = k < offered.Count ? VkResult.VK_INCOMPLETE : VkResult.VK_SUCCESS;
        return true;
    }

    /// <summary>Each physical device's driver extensions, asked for once (for <see cref="DriverOffers"/>).</summary>
    readonly Dictionary<ulong, HashSet<string>> _driverExtensions = new();

    /// <summary>
    /// Whether the driver offers one of <paramref name="extensions"/> (comma-separated) on
    /// <paramref name="physicalDevice"/>, before the generated handler of a physical-device command
    /// that only device extensions provide calls it: the loader hands out its trampoline whether or not
    /// the driver has the command, and on a driver without it the call reached a NULL entry (Mesa
    /// 25.0.7's lavapipe faulted on vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR, found by the
    /// lavapipe fuzz target, and on vkGetPhysicalDeviceFragmentShadingRatesKHR,
    /// vkGetPhysicalDeviceMultisamplePropertiesEXT and
    /// vkGetPhysicalDeviceSupportedFramebufferMixedSamplesCombinationsNV from a plain C client). A
    /// guest that calls one its device does not offer ends its context.
    /// </summary>
    public bool DriverOffers(Dispatcher x, ulong physicalDevice, int type, string extensions)
    {
        HashSet<string>? offered;
        lock (_driverExtensions)
            if (!_driverExtensions.TryGetValue(physicalDevice, out offered))
            {
                offered = DriverExtensions(x.InstanceFunctions, physicalDevice).Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
                _driverExtensions[physicalDevice] = offered;
            }
        foreach (var name in extensions.Split(','))
            if (offered.Contains(name)) return true;
        return Fatal($"{VenusProtocolInfo.CommandName(type)}: the physical device does not offer {extensions.Replace(",", " or ")}");
    }

    public bool vkEnumerateDeviceLayerProperties(Dispatcher x, vkEnumerateDeviceLayerProperties.Args* a)
    {
        *a->pPropertyCount = 0;
        a->ret = VkResult.VK_SUCCESS;
        return true;
    }
}
