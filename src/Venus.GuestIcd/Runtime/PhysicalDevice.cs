using System.Runtime.InteropServices;
using System.Text;
using Venus.GuestIcd.Generated;
using Venus.Protocol;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// A VkPhysicalDevice with its data fetched once from the host and cached (venus-protocol.md §8.2):
/// core properties, features, memory and queue-family properties, and the device extensions that
/// both the host's driver and the host's protocol support and that this driver can carry.
/// </summary>
internal sealed unsafe class PhysicalDevice : DispatchableObject
{
    private const string NotCarried = "not carried by the Venus protocol";
    private const string NoMemoryFds = "this transport does not share device memory as file descriptors (vtest does where the host shares device memory as blobs, as venus-host does; virtio-gpu does through PRIME)";

    /// <summary>
    /// Device extensions this driver never offers, with the reason <c>VENUS_DEBUG=init</c> gives for
    /// each (also for the ones a host leaves out of its list because the protocol lacks them):
    /// DRM-modifier images are not shared as dma-bufs by this driver, the host's own WSI extensions are never used (this
    /// driver's Wsi/ implements swapchains itself), placed mappings would need the host's pages at
    /// an address the app picks, and the rest need work not done or are not in the protocol.
    /// </summary>
    private static readonly Dictionary<string, string> Unsupported = new(StringComparer.Ordinal)
    {
        ["VK_EXT_image_drm_format_modifier"] = "images with DRM format modifiers are not imported or exported as dma-bufs by this driver yet",
        ["VK_KHR_swapchain_mutable_format"] = "the host's WSI; this driver's swapchains are its own",
        ["VK_EXT_display_control"] = "the host's WSI; this driver's swapchains are its own",
        ["VK_KHR_display_swapchain"] = "the host's WSI; this driver's swapchains are its own",
        ["VK_ANDROID_native_buffer"] = "Android only", ["VK_ANDROID_external_memory_android_hardware_buffer"] = "Android only",
        ["VK_EXT_map_memory_placed"] = "a placed mapping needs the host's pages at an address the app picks",
        ["VK_EXT_device_generated_commands"] = NotCarried + " (the renderer's extension table lists it, but no VkCommandTypeEXT value exists for any of its 9 commands, vkCmdExecuteGeneratedCommandsEXT included)",
        ["VK_KHR_pipeline_binary"] = NotCarried, ["VK_EXT_descriptor_buffer"] = NotCarried + " (descriptor bytes the host's driver writes)",
        ["VK_EXT_device_fault"] = NotCarried, ["VK_EXT_memory_priority"] = NotCarried,
        ["VK_EXT_pageable_device_local_memory"] = NotCarried, ["VK_EXT_shader_object"] = NotCarried,
        ["VK_AMDX_shader_enqueue"] = NotCarried + " (a provisional extension)",
    };

    /// <summary>
    /// Extensions this driver answers itself, whatever the host offers (and never asks the host
    /// for): tool properties (none), device-memory reports (from vkAllocateMemory/vkFreeMemory),
    /// the DRM node and PCI address of the transport's device where it has one, and host-pointer
    /// imports (<see cref="HostPointerMemory"/>) where a memory type can be mapped.
    /// </summary>
    private static readonly HashSet<string> AnsweredByThisDriver = new(StringComparer.Ordinal)
    {
        "VK_EXT_tooling_info", "VK_EXT_device_memory_report", "VK_EXT_physical_device_drm", "VK_EXT_pci_bus_info",
        "VK_EXT_external_memory_host", "VK_KHR_swapchain", "VK_EXT_swapchain_maintenance1", "VK_KHR_present_id",
        "VK_KHR_present_wait", "VK_KHR_incremental_present", "VK_KHR_external_fence_fd",
    };

    /// <summary>
    /// Why an external-handle extension of the host is left out on this transport, or null: memory
    /// fds and VK_EXT_queue_family_foreign (which only serves memory shared through them) need a
    /// transport that shares blobs as fds (Runtime/ExternalMemory.cs).
    /// </summary>
    private string? ExternalLeaveOut(string name) => name switch
    {
        "VK_KHR_external_memory_fd" or "VK_EXT_external_memory_dma_buf" => MemoryFdsUnavailable(),
        "VK_EXT_queue_family_foreign" when MemoryFdsUnavailable() is { } why =>
            "serves only memory shared through file descriptors, and " + why,
        _ => null,
    };

    /// <summary>
    /// Why memory fds cannot be offered, or null: the transport must share blobs as fds, and where it
    /// cannot ask the host whether it imports its own exports (virtio-gpu), the host is asked by doing
    /// it once (<see cref="ExternalMemory.HostImportsItsExports"/>).
    /// </summary>
    private string? MemoryFdsUnavailable()
    {
        if (!Instance.Transport.SharesMemoryFds)
            return NoMemoryFds;
        if (!Instance.Transport.ProbesMemoryFds)
            return null;
        if (!_memoryFdsProbed)
        {
            _memoryFdsProbed = true;
            // The probe costs a device and some ten round trips; the answer holds for the boot
            // (one render server per VM), so later processes read it from the boot cache.
            const string Question = "host imports the memory it exported";
            string? cached = BootCache.PathFor(Question, HostDeviceIdentity());
            if (cached == null || !BootCache.TryRead(cached, out bool ok, out string why))
            {
                ok = ExternalMemory.HostImportsItsExports(this, out why);
                if (cached != null)
                    BootCache.Write(cached, Question, ok, why);
            }
            else
                IcdLog.Info($"memory fds: the boot cache says the host {(ok ? "imports" : "does not import")} the memory it exported");
            if (!ok)
                _memoryFdsRefusal = $"on {Instance.Transport.Name} {why}";
        }
        return _memoryFdsRefusal;
    }

    /// <summary>What tells this host device from another in this boot: the transport (its node), the device's ids, driver version and pipeline cache UUID.</summary>
    private byte[] HostDeviceIdentity()
    {
        string text = $"{Instance.Transport.Name}|{_properties.vendorID:x}|{_properties.deviceID:x}|{_properties.driverVersion:x}|";
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(text) + 16];
        int n = System.Text.Encoding.UTF8.GetBytes(text, bytes);
        fixed (byte* uuid = _properties.pipelineCacheUUID)
            new ReadOnlySpan<byte>(uuid, 16).CopyTo(bytes.AsSpan(n));
        return bytes;
    }
    private bool _memoryFdsProbed;
    private string? _memoryFdsRefusal;

    private static readonly HashSet<string> InstanceExtensionNames =
        new(GuestInstance.Extensions.Select(e => e.Name), StringComparer.Ordinal);

    private VkPhysicalDeviceProperties _properties;
    private VkPhysicalDeviceFeatures _features;
    private VkPhysicalDeviceMemoryProperties _memory;
    private VkQueueFamilyProperties[] _queueFamilies = [];
    private VkExtensionProperties[] _extensions = [];
    private HashSet<string> _extensionNames = new(StringComparer.Ordinal);
    private HashSet<string> _hostExtensionNames = new(StringComparer.Ordinal);

    public PhysicalDevice(GuestInstance instance) => Instance = instance;

    public override GuestInstance Instance { get; }

    /// <summary>What this driver reports: min(host device, host protocol, this driver's 1.4).</summary>
    public uint ApiVersion => _properties.apiVersion;
    public ref readonly VkPhysicalDeviceProperties Properties => ref _properties;
    public ref readonly VkPhysicalDeviceFeatures Features => ref _features;
    public ref readonly VkPhysicalDeviceMemoryProperties MemoryProperties => ref _memory;
    public ReadOnlySpan<VkQueueFamilyProperties> QueueFamilies => _queueFamilies;
    public ReadOnlySpan<VkExtensionProperties> Extensions => _extensions;
    public bool HasExtension(string name) => _extensionNames.Contains(name);

    /// <summary>Offered because the host's device has it (enable it there too), not answered by this driver alone.</summary>
    public bool IsHostExtension(string name) => _hostExtensionNames.Contains(name);

    /// <summary>VkPhysicalDeviceRayTracingPipelinePropertiesKHR::shaderGroupHandleSize, asked for once.</summary>
    public uint ShaderGroupHandleSize
    {
        get
        {
            if (_shaderGroupHandleSize == 0)
            {
                var rt = new VkPhysicalDeviceRayTracingPipelinePropertiesKHR { sType = VkPhysicalDeviceRayTracingPipelinePropertiesKHR.SType };
                var p2 = new VkPhysicalDeviceProperties2 { sType = VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, pNext = &rt };
                Calls.vkGetPhysicalDeviceProperties2(Instance.Ring, Handle, &p2);
                _shaderGroupHandleSize = rt.shaderGroupHandleSize;
            }
            return _shaderGroupHandleSize;
        }
    }
    private uint _shaderGroupHandleSize;

    /// <summary>VK_EXT/KHR_calibrated_timestamps' time domains, asked for once.</summary>
    public VkTimeDomainKHR[] TimeDomains => _timeDomains ??= Timestamps.Domains(this);
    private VkTimeDomainKHR[]? _timeDomains;

    /// <summary>The transport's DRM device (VK_EXT_physical_device_drm, VK_EXT_pci_bus_info); null over vtest.</summary>
    public Transport.DrmNodeInfo? Drm { get; private set; }

    /// <summary>Memory types whose mapping this driver can offer (host-visible and coherent).</summary>
    public bool IsMappable(uint typeIndex) =>
        typeIndex < _memory.memoryTypeCount &&
        (_memory.memoryTypes[(int)typeIndex].propertyFlags & (uint)VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0;

    /// <summary>Bit N set for each memory type N this driver can map (<see cref="IsMappable"/>).</summary>
    public uint MappableTypeBits
    {
        get
        {
            uint bits = 0;
            for (uint i = 0; i < _memory.memoryTypeCount && i < 32; i++)
                if (IsMappable(i))
                    bits |= 1u << (int)i;
            return bits;
        }
    }

    /// <summary>The first memory type in <paramref name="typeBits"/> this driver can map (host-visible, hence coherent), or -1.</summary>
    public int CoherentMappableType(uint typeBits)
    {
        for (uint i = 0; i < _memory.memoryTypeCount && i < 32; i++)
            if ((typeBits & (1u << (int)i)) != 0 && IsMappable(i))
                return (int)i;
        return -1;
    }

    /// <summary>
    /// Null when this driver may map memory of its own (feedback slots); else why not. Over
    /// virtio-gpu the VMM shares host-visible memory (as Mesa assumes). Over vtest only a host that
    /// says so (<see cref="Transport.IGuestTransport.SharesMappedMemory"/>: venus-host):
    /// virglrenderer's server on lavapipe ends the connection at such a blob.
    /// </summary>
    public string? CanMapFeedback =>
        MappableTypeBits == 0 ? "the host offers no host-visible coherent memory"
        : !Instance.Transport.SharesMappedMemory ? "the vtest host does not say it shares host-visible memory (virglrenderer's server cannot on every driver)"
        : null;

    /// <summary>Fetches everything; false for a device below Vulkan 1.1 (not shown, like Mesa).</summary>
    public bool Initialize()
    {
        GuestRing ring = Instance.Ring;
        VkPhysicalDeviceProperties props;
        Calls.vkGetPhysicalDeviceProperties(ring, Handle, &props);
        if (props.apiVersion < VenusCapset.MakeVulkanVersion(1, 1, 0))
            return false;
        uint hostApi = props.apiVersion;
        props.apiVersion = ClampVersion(props.apiVersion, Math.Min(Instance.Ring.Filter.ApiVersion, GuestInstance.DriverApiVersion));
        HostDriver = HostDriverId(ring, hostApi);
        string hostName = FixedString(props.deviceName, 256);
        SetFixedString(props.deviceName, 256, $"Virtio-GPU Venus.NET ({hostName})");
        _properties = props;

        VkPhysicalDeviceFeatures features;
        Calls.vkGetPhysicalDeviceFeatures(ring, Handle, &features);
        _features = features;

        VkPhysicalDeviceMemoryProperties memory;
        Calls.vkGetPhysicalDeviceMemoryProperties(ring, Handle, &memory);
        for (int i = 0; i < memory.memoryTypeCount && i < 32; i++)
        {
            // Mappings are the host's own pages shared with us: coherent. A non-coherent
            // host-visible type is offered as device memory only (§8.3).
            uint flags = memory.memoryTypes[i].propertyFlags;
            if ((flags & (uint)VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0 &&
                (flags & (uint)VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) == 0)
                memory.memoryTypes[i].propertyFlags = flags & ~(uint)(VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
        }
        _memory = memory;

        uint count = 0;
        Calls.vkGetPhysicalDeviceQueueFamilyProperties(ring, Handle, &count, null);
        var families = new VkQueueFamilyProperties[count];
        fixed (VkQueueFamilyProperties* p = families)
            Calls.vkGetPhysicalDeviceQueueFamilyProperties(ring, Handle, &count, p);
        _queueFamilies = families.AsSpan(0, (int)Math.Min(count, (uint)families.Length)).ToArray();

        LoadExtensions(ring);
        IcdLog.Info($"physical device '{hostName}': host api {VenusCapset.FormatVulkanVersion(hostApi)}, " +
            $"reported {VenusCapset.FormatVulkanVersion(props.apiVersion)}, {_extensions.Length} device extensions");
        return true;
    }

    /// <summary>The host's driver (VkPhysicalDeviceDriverProperties, Vulkan 1.2); 0 below 1.2.</summary>
    public VkDriverId HostDriver { get; private set; }

    private VkDriverId HostDriverId(GuestRing ring, uint hostApi)
    {
        if (hostApi < VenusCapset.MakeVulkanVersion(1, 2, 0))
            return 0;
        var driver = new VkPhysicalDeviceDriverProperties { sType = VkPhysicalDeviceDriverProperties.SType };
        var props2 = new VkPhysicalDeviceProperties2 { sType = VkPhysicalDeviceProperties2.SType, pNext = &driver };
        Calls.vkGetPhysicalDeviceProperties2(ring, Handle, &props2);
        return driver.driverID;
    }

    private static uint ClampVersion(uint hostVersion, uint limit)
    {
        // Compare major.minor; keep the host's patch unless the host is newer than the limit.
        uint hostMinor = hostVersion >> 12, limitMinor = limit >> 12;
        if (hostMinor > limitMinor)
            return (limit & ~0xfffu) | Math.Min(hostVersion & 0xfff, limit & 0xfff);
        return hostVersion;
    }

    private void LoadExtensions(GuestRing ring)
    {
        uint count = 0;
        VkResult r = Calls.vkEnumerateDeviceExtensionProperties(ring, Handle, null, &count, null);
        if (r != VkResult.VK_SUCCESS)
            throw new VulkanResultException(r, "the host's vkEnumerateDeviceExtensionProperties failed");
        var host = new VkExtensionProperties[count];
        fixed (VkExtensionProperties* p = host)
            r = Calls.vkEnumerateDeviceExtensionProperties(ring, Handle, null, &count, p);
        if (r is not (VkResult.VK_SUCCESS or VkResult.VK_INCOMPLETE))
            throw new VulkanResultException(r, "the host's vkEnumerateDeviceExtensionProperties failed");

        var protocol = new Dictionary<string, VenusExtension>(StringComparer.Ordinal);
        foreach (VenusExtension e in VenusProtocolInfo.Extensions)
            protocol[e.Name] = e;

        var candidates = new List<(string Name, VkExtensionProperties Properties)>();
        var offered = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < count && i < host.Length; i++)
        {
            VkExtensionProperties ext = host[i];
            string name = FixedString(ext.extensionName, 256);
            seen.Add(name);
            if (AnsweredByThisDriver.Contains(name))
                continue;
            bool inProtocol = protocol.TryGetValue(name, out VenusExtension known);
            string? why = Unsupported.TryGetValue(name, out string? unsupported) ? unsupported
                : ExternalLeaveOut(name) is { } noFds ? noFds
                : !inProtocol ? "not in the protocol"
                : name == "VK_EXT_host_image_copy" && !HostImageCopy.HostSupports(Instance)
                    ? $"the host's VK_MESA_venus_protocol spec {Instance.Capset.VkMesaVenusProtocolSpecVersion} has no host copies (spec 3)"
                : !Instance.Ring.Filter.HasExtension(known.Number) ? "not in the host's capset mask"
                : AppWorkarounds.LeaveOut(name, Instance.EngineName, HostDriver);
            if (why is not null)
            {
                IcdLog.Info($"device extension {name} left out: {why}");
                continue;
            }
            ext.specVersion = Math.Min(ext.specVersion, (uint)known.SpecVersion);
            if (offered.Add(name))
                candidates.Add((name, ext));
        }

        // What the host's list lacks because the protocol does not carry it (or the host filtered
        // it) is named too, so the log lists every extension this driver cannot offer.
        foreach ((string name, string why) in Unsupported)
            if (!seen.Contains(name))
                IcdLog.Info($"device extension {name} left out: {why} (not in the host's list either)");

        // Commands that do not travel are fine where this driver has its own entry point
        // (templates, push-descriptor templates, calibrated timestamps) or where they only come
        // with an extension that is not offered (the WSI commands of VK_KHR_device_group).
        var dropped = new List<(string Extension, string Why)>();
        ExtensionFilter.Apply(offered, Generated.ExtensionCommands.All, Loader.ProcTable.Has, _properties.apiVersion,
            InstanceExtensionNames, dropped);
        foreach ((string ext, string why) in dropped)
            IcdLog.Info($"device extension {ext} left out: {why}");
        IcdLog.Info($"external handle type OPAQUE_FD of fences and semaphores left out: {ExternalSync.NoOpaqueFd}");

        var kept = new List<VkExtensionProperties>();
        foreach ((string name, VkExtensionProperties p) in candidates)
            if (offered.Contains(name))
                kept.Add(p);
        var hostNames = new HashSet<string>(offered, StringComparer.Ordinal);

        Drm = Instance.Transport.DrmInfo;
        void Local(string name, uint spec)
        {
            var p = new VkExtensionProperties { specVersion = spec };
            SetFixedString(p.extensionName, 256, name);
            kept.Add(p);
            offered.Add(name);
        }
        Local("VK_EXT_tooling_info", 1);
        Local("VK_EXT_device_memory_report", 2);
        if (Drm is not null)
            Local("VK_EXT_physical_device_drm", 1);
        if (MappableTypeBits != 0)
            Local("VK_EXT_external_memory_host", 1);
        if (Drm?.Pci is not null)
            Local("VK_EXT_pci_bus_info", 2);
        foreach ((string name, uint spec) in Wsi.WsiExtensions.DeviceExtensions)
            Local(name, spec);
        Local("VK_KHR_external_fence_fd", 1); // SYNC_FD, done by this driver (Runtime/ExternalSync.cs)

        _extensions = kept.ToArray();
        _extensionNames = offered;
        _hostExtensionNames = hostNames;
    }

    public static string FixedString(byte* chars, int capacity)
    {
        int n = 0;
        while (n < capacity && chars[n] != 0)
            n++;
        return Encoding.UTF8.GetString(chars, n);
    }

    public static void SetFixedString(byte* chars, int capacity, string value)
    {
        new Span<byte>(chars, capacity).Clear();
        int n = Encoding.UTF8.GetBytes(value.AsSpan(), new Span<byte>(chars, capacity - 1));
        chars[Math.Min(n, capacity - 1)] = 0;
    }

    /// <summary>Property structs this driver fills itself; the host never sees them.</summary>
    public static ReadOnlySpan<VkStructureType> LocalProperties =>
    [
        VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PCI_BUS_INFO_PROPERTIES_EXT,
        VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRM_PROPERTIES_EXT,
        VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT,
    ];

    /// <summary>Feature structs this driver fills itself; the host never sees them.</summary>
    public static ReadOnlySpan<VkStructureType> LocalFeatures =>
    [
        VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DEVICE_MEMORY_REPORT_FEATURES_EXT,
        VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PRESENT_ID_FEATURES_KHR,
        VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PRESENT_WAIT_FEATURES_KHR,
        VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SWAPCHAIN_MAINTENANCE_1_FEATURES_EXT,
    ];

    /// <summary>
    /// vkGetPhysicalDeviceProperties2: the host answers the chain except the structs this driver
    /// fills (<see cref="LocalProperties"/>), then the cached and local parts are written in.
    /// </summary>
    public void GetProperties2(VkPhysicalDeviceProperties2* p)
    {
        AskHostWithout(p, LocalProperties, &Calls.vkGetPhysicalDeviceProperties2);
        PatchProperties2(p);
    }

    /// <summary>vkGetPhysicalDeviceFeatures2, the same way (<see cref="LocalFeatures"/>).</summary>
    public void GetFeatures2(VkPhysicalDeviceFeatures2* p)
    {
        AskHostWithout(p, LocalFeatures, &Calls.vkGetPhysicalDeviceFeatures2);
        p->features = _features;
        for (var s = (VkBaseOutStructure*)p->pNext; s != null; s = s->pNext)
        {
            if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DEVICE_MEMORY_REPORT_FEATURES_EXT)
                ((VkPhysicalDeviceDeviceMemoryReportFeaturesEXT*)s)->deviceMemoryReport = 1;
            // Host copies need the host's spec-3 commands; without them the feature is off.
            else if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_4_FEATURES && !HostImageCopy.HostSupports(Instance))
                ((VkPhysicalDeviceVulkan14Features*)s)->hostImageCopy = 0;
            else if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_HOST_IMAGE_COPY_FEATURES && !HostImageCopy.HostSupports(Instance))
                ((VkPhysicalDeviceHostImageCopyFeatures*)s)->hostImageCopy = 0;
            Wsi.WsiExtensions.FillFeatures(s);
            RayTracing.FillFeatures(s);
        }
    }

    /// <summary>
    /// Sends a query's pNext chain to the host without the structs in <paramref name="local"/>
    /// (unlinked for the call, linked back afterwards); nothing is sent when no other struct is
    /// chained, since the core part is cached.
    /// </summary>
    private void AskHostWithout<T>(T* query, ReadOnlySpan<VkStructureType> local,
        delegate*<GuestRing, ulong, T*, void> call) where T : unmanaged
    {
        var head = (VkBaseOutStructure*)query;
        if (head->pNext == null)
            return;
        var splice = new ChainSplice();
        splice.Unlink(head, local);
        try
        {
            if (head->pNext != null)
                call(Ring, Handle, query);
        }
        finally
        {
            splice.Relink();
        }
    }

    /// <summary>Overwrites what this driver reports differently from the host in a properties2 chain.</summary>
    public void PatchProperties2(VkPhysicalDeviceProperties2* p)
    {
        p->properties = _properties;
        for (var s = (VkBaseOutStructure*)p->pNext; s != null; s = s->pNext)
        {
            switch (s->sType)
            {
                case VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PCI_BUS_INFO_PROPERTIES_EXT when Drm?.Pci is { } pci:
                {
                    var d = (VkPhysicalDevicePCIBusInfoPropertiesEXT*)s;
                    d->pciDomain = pci.Domain;
                    d->pciBus = pci.Bus;
                    d->pciDevice = pci.Device;
                    d->pciFunction = pci.Function;
                    break;
                }
                case VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRM_PROPERTIES_EXT when Drm is { } drm:
                {
                    var d = (VkPhysicalDeviceDrmPropertiesEXT*)s;
                    d->hasPrimary = drm.HasPrimary ? 1u : 0u;
                    d->hasRender = 1;
                    d->primaryMajor = drm.PrimaryMajor;
                    d->primaryMinor = drm.PrimaryMinor;
                    d->renderMajor = drm.RenderMajor;
                    d->renderMinor = drm.RenderMinor;
                    break;
                }
                case VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT:
                    ((VkPhysicalDeviceExternalMemoryHostPropertiesEXT*)s)->minImportedHostPointerAlignment = HostPointerMemory.Alignment;
                    break;
                case VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES:
                {
                    var d = (VkPhysicalDeviceDriverProperties*)s;
                    PatchDriverIdentity(&d->driverID, d->driverName, d->driverInfo, &d->conformanceVersion);
                    break;
                }
                case VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES:
                {
                    var d = (VkPhysicalDeviceVulkan12Properties*)s;
                    PatchDriverIdentity(&d->driverID, d->driverName, d->driverInfo, &d->conformanceVersion);
                    break;
                }
            }
        }
    }

    /// <summary>The driver is ours (Venus.NET); the host's driver goes into driverInfo. Not conformance-tested.</summary>
    private static void PatchDriverIdentity(VkDriverId* id, byte* name, byte* info, VkConformanceVersion* conformance)
    {
        string hostDriver = FixedString(name, 256);
        string hostInfo = FixedString(info, 256);
        *id = VkDriverId.VK_DRIVER_ID_MESA_VENUS;
        SetFixedString(name, 256, "Venus.NET");
        SetFixedString(info, 256, $"host driver {hostDriver} {hostInfo}".Trim());
        *conformance = default;
    }

    /// <summary>The cached memory properties into a memory-properties2 chain (budget structs stay the host's).</summary>
    public void PatchMemoryProperties2(VkPhysicalDeviceMemoryProperties2* p) => p->memoryProperties = _memory;
}
