using System.Runtime.InteropServices;
using System.Text;
using Venus.GuestIcd.Generated;
using Venus.GuestIcd.Transport;
using Venus.Protocol;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// A VkInstance: the transport connection, the instance ring every call of this instance and its
/// devices goes through (venus-protocol.md §8.7), the id counter, and the physical devices,
/// enumerated once and cached (§8.2).
/// </summary>
internal sealed unsafe class GuestInstance : DispatchableObject
{
    /// <summary>The Vulkan version this driver implements (core commands up to it are exported).</summary>
    public static readonly uint DriverApiVersion = VenusCapset.MakeVulkanVersion(1, 4, VenusProtocolInfo.VkXmlVersion & 0xfff);

    /// <summary>Ring buffer size (power of two; hosts accept up to 16 MiB) and the initial reply buffer.</summary>
    private const uint RingBufferSize = 1 << 20;
    private const ulong ReplyBufferSize = 1 << 20;

    /// <summary>A call ring (slow calls, <see cref="GuestRing.EnableCallRings"/>) and its first reply buffer.</summary>
    private const uint CallRingBufferSize = 1 << 17;
    private const ulong CallReplyBufferSize = 1 << 16;

    /// <summary>
    /// Non-dispatchable ids live above every user-space address (dispatchable ids are the
    /// addresses of their native blocks), so the two kinds never collide.
    /// </summary>
    private const long FirstObjectId = 1L << 60;

    /// <summary>Instance extensions this driver implements itself: five core in Vulkan 1.1, and the surface ones (Wsi/).</summary>
    public static readonly (string Name, uint Spec)[] Extensions =
    [
        ("VK_KHR_get_physical_device_properties2", 2),
        ("VK_KHR_external_memory_capabilities", 1),
        ("VK_KHR_external_semaphore_capabilities", 1),
        ("VK_KHR_external_fence_capabilities", 1),
        ("VK_KHR_device_group_creation", 1),
        .. Wsi.WsiExtensions.InstanceExtensions(),
    ];

    /// <summary><see cref="Extensions"/> as vkEnumerateInstanceExtensionProperties returns them.</summary>
    public static readonly VkExtensionProperties[] ExtensionProperties = Extensions.Select(e =>
    {
        var p = new VkExtensionProperties { specVersion = e.Spec };
        PhysicalDevice.SetFixedString(p.extensionName, 256, e.Name);
        return p;
    }).ToArray();

    private readonly IGuestTransport _transport;
    private readonly GuestRing _ring;
    private long _nextObjectId = FirstObjectId;
    private readonly Lock _physicalDevicesLock = new();
    private PhysicalDevice[]? _physicalDevices;
    private ulong[]? _physicalDeviceHandles;
    private ulong _timelineMask; // bit n: ring_idx n in use by a queue (bit 0 = the CPU timeline, never handed out)

    private GuestInstance(IGuestTransport transport, GuestRing ring, uint hostInstanceVersion, uint apiVersion)
    {
        _transport = transport;
        _ring = ring;
        HostInstanceVersion = hostInstanceVersion;
        ApiVersion = apiVersion;
        _timelineMask = 1;
    }

    public override GuestInstance Instance => this;
    public new GuestRing Ring => _ring;
    public IGuestTransport Transport => _transport;
    public VenusCapset Capset => _transport.Capset;
    public uint HostInstanceVersion { get; }

    /// <summary>The API version the app asked for (at least 1.1), as sent to the host.</summary>
    public uint ApiVersion { get; }

    /// <summary>The app's VkApplicationInfo::pEngineName ("" without one), for <see cref="AppWorkarounds"/>.</summary>
    public string EngineName { get; private set; } = "";

    public ulong NewObjectId() => (ulong)Interlocked.Increment(ref _nextObjectId);

    /// <summary>vkCreateInstance: connect, check the capset, create the ring, create the host's instance.</summary>
    public static VkResult Create(VkInstanceCreateInfo* createInfo, ulong* pInstance)
    {
        if (createInfo == null || pInstance == null)
            return VkResult.VK_ERROR_INITIALIZATION_FAILED;
        for (uint i = 0; i < createInfo->enabledExtensionCount; i++)
        {
            string name = Marshal.PtrToStringUTF8((nint)createInfo->ppEnabledExtensionNames[i]) ?? "";
            if (!Extensions.Any(e => e.Name == name))
            {
                IcdLog.Info($"vkCreateInstance: instance extension {name} is not supported");
                return VkResult.VK_ERROR_EXTENSION_NOT_PRESENT;
            }
        }

        IGuestTransport? transport = OpenTransport() is { } opened ? RecordingTransport.Wrap(opened) : null;
        if (transport is null)
            return VkResult.VK_ERROR_INCOMPATIBLE_DRIVER;

        GuestRing? ring = null;
        try
        {
            VenusCapset capset = transport.Capset;
            IcdLog.Info($"{transport.Name}: wire format {capset.WireFormatVersion}, vk.xml {VenusCapset.FormatVulkanVersion(capset.VkXmlVersion)}, " +
                $"{capset.ExtensionCount} protocol extensions, multiple timelines {capset.SupportsMultipleTimelines}");
            if (capset.WhyUnusable() is { } unusable)
                return Refuse(transport, unusable);

            var filter = VnProtocolFilter.FromCapset(capset);

            // The ring's id comes from the same space as every other non-dispatchable id.
            ulong ringId = (ulong)Interlocked.Increment(ref s_ringIds) | (1UL << 59);
            ring = new GuestRing(transport, filter, ringId, RingBufferSize, ReplyBufferSize);
            ring.EnableCallRings(static () => (ulong)Interlocked.Increment(ref s_ringIds) | (1UL << 59), CallRingBufferSize, CallReplyBufferSize);

            uint hostVersion = 0;
            VkResult r = Calls.vkEnumerateInstanceVersion(ring, &hostVersion);
            if (r != VkResult.VK_SUCCESS || hostVersion < VenusCapset.MakeVulkanVersion(1, 1, 0))
            {
                ring.Dispose();
                return Refuse(transport, $"the host's vkEnumerateInstanceVersion gave {r}, version {VenusCapset.FormatVulkanVersion(hostVersion)}; Vulkan 1.1 is the minimum");
            }

            uint appVersion = createInfo->pApplicationInfo != null ? createInfo->pApplicationInfo->apiVersion : 0;
            uint apiVersion = Math.Max(appVersion, VenusCapset.MakeVulkanVersion(1, 1, 0));
            apiVersion = Math.Min(apiVersion, Math.Min(hostVersion, filter.ApiVersion));

            var instance = new GuestInstance(transport, ring, hostVersion, apiVersion);
            if (createInfo->pApplicationInfo != null && createInfo->pApplicationInfo->pEngineName != null)
                instance.EngineName = PhysicalDevice.FixedString((byte*)createInfo->pApplicationInfo->pEngineName, 256);

            // The host's instance: the app's names, our API version, no layers, no extensions
            // (virglrenderer refuses any), no pNext (nothing there travels).
            VkApplicationInfo app = createInfo->pApplicationInfo != null ? *createInfo->pApplicationInfo : new VkApplicationInfo();
            app.sType = VkApplicationInfo.SType;
            app.pNext = null;
            app.apiVersion = Math.Max(appVersion, VenusCapset.MakeVulkanVersion(1, 1, 0));
            VkInstanceCreateInfo hostInfo = *createInfo;
            hostInfo.pNext = null;
            hostInfo.pApplicationInfo = &app;
            hostInfo.enabledLayerCount = 0;
            hostInfo.ppEnabledLayerNames = null;
            hostInfo.enabledExtensionCount = 0;
            hostInfo.ppEnabledExtensionNames = null;
            ulong id = instance.Handle;
            r = Calls.vkCreateInstance(ring, &hostInfo, null, &id);
            if (r != VkResult.VK_SUCCESS)
            {
                IcdLog.Error($"the host's vkCreateInstance failed: {r}");
                instance.ReleaseHandle();
                ring.Dispose();
                transport.Dispose();
                return r;
            }
            IcdLog.Info($"instance created on {transport.Name}: host instance {VenusCapset.FormatVulkanVersion(hostVersion)}, api {VenusCapset.FormatVulkanVersion(apiVersion)}");
            *pInstance = instance.Handle;
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            ring?.Dispose();
            transport.Dispose();
            IcdLog.Error($"vkCreateInstance on {transport.Name} failed: {e.Message}");
            return VkResult.VK_ERROR_INITIALIZATION_FAILED;
        }
    }

    /// <summary>
    /// vtest when asked for by env (as Mesa: VN_DEBUG=vtest, or VENUS_TRANSPORT=vtest), otherwise
    /// the first virtio-gpu render node with the venus capset; null (after one log line saying
    /// why) when neither is usable.
    /// </summary>
    private static IGuestTransport? OpenTransport()
    {
        string? asked = Environment.GetEnvironmentVariable("VENUS_TRANSPORT");
        if (VtestGuestTransport.Requested())
        {
            string socket = VtestGuestTransport.SocketPath();
            try
            {
                IGuestTransport vtest = VtestGuestTransport.Connect(socket, ProcessName());
                IcdLog.Info($"transport: {vtest.Name} (vtest asked for by VN_DEBUG or VENUS_TRANSPORT)");
                return vtest;
            }
            catch (Exception e)
            {
                IcdLog.Error($"cannot use the vtest host at {socket}: {e.Message}");
                return null;
            }
        }
        if (!string.IsNullOrEmpty(asked) && asked != "virtgpu")
        {
            IcdLog.Error($"VENUS_TRANSPORT={asked} is not a transport (vtest or virtgpu)");
            return null;
        }
        VirtgpuGuestTransport? virtgpu = VirtgpuGuestTransport.Open(out string why);
        if (virtgpu is null)
        {
            IcdLog.Error($"no virtio-gpu device for Venus: {why}. " +
                "For a vtest host set VN_DEBUG=vtest (or VENUS_TRANSPORT=vtest) and VTEST_SOCKET_NAME");
            return null;
        }
        IcdLog.Info($"transport: {virtgpu.Name} (virtio-gpu render node with the venus capset)");
        return virtgpu;
    }

    private static long s_ringIds;

    private static VkResult Refuse(IGuestTransport transport, string why)
    {
        IcdLog.Error($"{transport.Name}: {why}");
        transport.Dispose();
        return VkResult.VK_ERROR_INCOMPATIBLE_DRIVER;
    }

    private static string ProcessName()
    {
        try
        {
            string comm = File.ReadAllText("/proc/self/comm").Trim();
            return comm.Length > 0 ? comm : "venus-icd";
        }
        catch
        {
            return "venus-icd";
        }
    }

    /// <summary>The host's physical devices (Vulkan ≥ 1.1 only), fetched on first use and cached.</summary>
    public PhysicalDevice[] PhysicalDevices
    {
        get
        {
            EnsureEnumerated();
            return _physicalDevices!;
        }
    }

    /// <summary>The handles of <see cref="PhysicalDevices"/>, as vkEnumeratePhysicalDevices returns them.</summary>
    public ulong[] PhysicalDeviceHandles
    {
        get
        {
            EnsureEnumerated();
            return _physicalDeviceHandles!;
        }
    }

    private void EnsureEnumerated()
    {
        if (Volatile.Read(ref _physicalDeviceHandles) is not null)
            return;
        lock (_physicalDevicesLock)
        {
            if (_physicalDeviceHandles is not null)
                return;
            _physicalDevices = EnumerateFromHost();
            Volatile.Write(ref _physicalDeviceHandles, _physicalDevices.Select(d => d.Handle).ToArray());
        }
    }

    private PhysicalDevice[] EnumerateFromHost()
    {
        uint count = 0;
        VkResult r = Calls.vkEnumeratePhysicalDevices(_ring, Handle, &count, null);
        if (r != VkResult.VK_SUCCESS)
            throw new VulkanResultException(r, "the host's vkEnumeratePhysicalDevices failed");
        var candidates = new PhysicalDevice[count];
        ulong* ids = stackalloc ulong[(int)Math.Max(count, 1)];
        for (int i = 0; i < count; i++)
        {
            candidates[i] = new PhysicalDevice(this);
            ids[i] = candidates[i].Handle;
        }
        r = Calls.vkEnumeratePhysicalDevices(_ring, Handle, &count, ids);
        if (r is not (VkResult.VK_SUCCESS or VkResult.VK_INCOMPLETE))
            throw new VulkanResultException(r, "the host's vkEnumeratePhysicalDevices failed");
        var usable = new List<PhysicalDevice>();
        for (int i = 0; i < candidates.Length; i++)
        {
            if (i < count && candidates[i].Initialize())
                usable.Add(candidates[i]);
            // Devices the host no longer lists, or that are below 1.1, stay registered on the host
            // (it knows their ids) but are never shown to the app.
        }
        IcdLog.Info($"{usable.Count} physical device(s)");
        return usable.ToArray();
    }

    /// <summary>A ring_idx (1..63) for a queue's timeline, or 0 when none is free.</summary>
    public uint AllocateTimeline()
    {
        lock (_physicalDevicesLock)
        {
            for (uint i = 1; i < 64; i++)
            {
                if ((_timelineMask & (1UL << (int)i)) == 0)
                {
                    _timelineMask |= 1UL << (int)i;
                    return i;
                }
            }
            return 0;
        }
    }

    public void FreeTimeline(uint ringIdx)
    {
        if (ringIdx == 0)
            return;
        lock (_physicalDevicesLock)
            _timelineMask &= ~(1UL << (int)ringIdx);
    }

    public void Destroy()
    {
        try
        {
            if (!_ring.IsLost)
                Calls.vkDestroyInstance(_ring, Handle, null);
        }
        catch (Exception e)
        {
            IcdLog.Info($"vkDestroyInstance on the host: {e.Message}");
        }
        _ring.Dispose();
        _transport.Dispose();
        if (_physicalDevices is not null)
            foreach (PhysicalDevice p in _physicalDevices)
                p.ReleaseHandle();
        ReleaseHandle();
    }
}
