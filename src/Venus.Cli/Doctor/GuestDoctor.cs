using Venus.Protocol;
using Venus.Transport.Virtgpu;
using Venus.Transport.Vtest;

namespace Venus.Cli.Doctor;

/// <summary>
/// <c>venus doctor</c> where an application runs: the driver manifests the loader will see, the
/// transport our ICD would pick and why (the same rules as the ICD: vtest when VN_DEBUG contains
/// vtest or VENUS_TRANSPORT=vtest, otherwise the first virtio-gpu render node that carries Venus),
/// the host's capset, and a trial instance and device through the loader. Each problem is one
/// finding with what to do about it.
/// </summary>
public static class GuestDoctor
{
    public static DoctorReport Run(Func<string, string?> env, string loader = "libvulkan.so.1")
    {
        var report = new DoctorReport("guest");
        CheckManifests(report, env);
        VenusCapset? capset = CheckTransport(report, env);
        if (capset is { } c)
            CheckCapset(report, c);
        CheckTrial(report, LoaderTrial.Run(loader));
        return report;
    }

    private static void CheckManifests(DoctorReport report, Func<string, string?> env)
    {
        IcdManifests.Search search = IcdManifests.Find(env);
        report.Facts["manifests"] = search.Manifests.Select(m => (object?)new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["path"] = m.Path, ["library_path"] = m.LibraryPath, ["library"] = m.ResolvedLibrary,
            ["api_version"] = m.ApiVersion, ["ours"] = m.IsOurs, ["error"] = m.Error,
        }).ToList();
        report.Facts["manifest_search"] = search.How;
        foreach (string f in search.Filtered)
            report.Info("manifests", $"{f} is filtered out by VK_LOADER_DRIVERS_SELECT/VK_LOADER_DRIVERS_DISABLE");
        foreach (IcdManifest m in search.Manifests.Where(m => m.Error is not null))
            report.Warn("manifests", $"{m.Path} is not a usable manifest: {m.Error}", "fix or remove the file; the loader skips it");

        List<IcdManifest> ours = search.Manifests.Where(m => m.IsOurs).ToList();
        if (search.Manifests.Count == 0)
        {
            report.Fail("manifests", $"the loader finds no driver manifest ({search.How}: {string.Join(", ", search.Places)})",
                "install our ICD's manifest (bash eng/icd.sh install, or the package) or point VK_DRIVER_FILES at venus_icd.json");
            return;
        }
        if (ours.Count == 0)
        {
            report.Fail("manifests", $"none of the {search.Manifests.Count} manifests the loader finds ({search.How}) is ours (libvenus_icd.so): "
                + string.Join(", ", search.Manifests.Select(m => $"{Path.GetFileName(m.Path)} → {m.LibraryName ?? "?"}")),
                "set VK_DRIVER_FILES=/path/to/venus_icd.json, or install the manifest into /usr/share/vulkan/icd.d");
            return;
        }
        foreach (IcdManifest m in ours)
        {
            if (m.LibraryFound)
                report.Ok("manifests", $"our ICD: {m.Path} → {m.ResolvedLibrary} (api_version {m.ApiVersion ?? "?"})");
            else
                report.Fail("manifests", $"our manifest {m.Path} names {m.LibraryPath}, which does not exist",
                    "reinstall the ICD (bash eng/icd.sh install) so the manifest and library agree");
        }
        IcdManifest[] others = search.Manifests.Where(m => !m.IsOurs && m.Error is null).ToArray();
        if (others.Length > 0)
            report.Info("manifests", "other drivers the loader also loads: " + string.Join(", ", others.Select(m => m.LibraryName)));
    }

    /// <summary>The transport our ICD would choose; the capset when the host answered.</summary>
    private static VenusCapset? CheckTransport(DoctorReport report, Func<string, string?> env)
    {
        string? asked = env("VENUS_TRANSPORT");
        if (VtestProtocol.Requested(env))
        {
            string socket = VtestProtocol.SocketPath(env);
            report.Facts["transport"] = "vtest";
            report.Facts["vtest_socket"] = socket;
            string why = asked == "vtest" ? "VENUS_TRANSPORT=vtest" : "VN_DEBUG contains vtest";
            if (!File.Exists(socket))
            {
                report.Fail("transport", $"vtest ({why}), but there is no socket at {socket}",
                    "start the host (venus-host serve --socket PATH, or virgl_test_server --venus) or set VTEST_SOCKET_NAME to its socket");
                return null;
            }
            try
            {
                using VtestClient client = VtestClient.Connect(socket, "venus-doctor");
                VenusCapset capset = client.GetCapset();
                report.Ok("transport", $"vtest ({why}): host at {socket} answers, vtest protocol {client.ProtocolVersion}");
                return capset;
            }
            catch (VtestException e)
            {
                report.Fail("transport", $"vtest ({why}): the host at {socket} does not answer: {e.Message}",
                    "is the host running? A stale socket file stays behind when a host dies: restart the host");
                return null;
            }
        }
        if (!string.IsNullOrEmpty(asked) && asked != "virtgpu")
        {
            report.Fail("transport", $"VENUS_TRANSPORT={asked} is not a transport", "use vtest or virtgpu, or unset it");
            return null;
        }

        report.Facts["transport"] = "virtgpu";
        string? only = env("VENUS_RENDER_NODE");
        IReadOnlyList<string> nodes = string.IsNullOrEmpty(only) ? VirtgpuDevice.RenderNodes() : [only];
        var nodeFacts = new List<object?>();
        report.Facts["render_nodes"] = nodeFacts;
        if (nodes.Count == 0)
        {
            report.Fail("transport", "no render node in /dev/dri and no vtest asked for",
                "in a VM: give it -device virtio-gpu-gl-pci,venus=on,blob=on,hostmem=… and load virtio_gpu; on a host: set VN_DEBUG=vtest and VTEST_SOCKET_NAME");
            return null;
        }
        VenusCapset? chosen = null;
        byte[] caps = new byte[VenusCapset.Size];
        foreach (string node in nodes)
        {
            var fact = new SortedDictionary<string, object?>(StringComparer.Ordinal) { ["path"] = node };
            nodeFacts.Add(fact);
            VirtgpuDevice device;
            try
            {
                device = VirtgpuDevice.Open(node);
            }
            catch (VirtgpuException e)
            {
                fact["error"] = e.Message;
                // The transport's messages mostly name the node already.
                report.Info("transport", e.Message.StartsWith(node + ":", StringComparison.Ordinal) ? e.Message : $"{node}: {e.Message}");
                continue;
            }
            using (device)
            {
                fact["driver"] = $"{device.DriverName} {device.DriverVersion.Major}.{device.DriverVersion.Minor}.{device.DriverVersion.Patch}";
                List<string> missing = VenusNodeCheck.Missing(device);
                fact["missing"] = missing.Cast<object?>().ToList();
                if (missing.Count > 0)
                {
                    report.Info("transport", $"{node} (virtio_gpu): cannot carry Venus: {string.Join(", ", missing)}");
                    continue;
                }
                try
                {
                    device.GetCaps(VenusCapset.CapsetId, VenusCapset.CapsetVersion, caps);
                }
                catch (VirtgpuException e)
                {
                    report.Info("transport", $"{node}: reading the venus capset failed: {e.Message}");
                    continue;
                }
                if (!VenusCapset.TryParse(caps, out VenusCapset capset, out string? error))
                {
                    report.Info("transport", $"{node}: the venus capset is malformed: {error}");
                    continue;
                }
                if (chosen is null)
                {
                    report.Ok("transport", $"virtio-gpu: {node} carries Venus (blob, host-visible window, context init, venus capset)");
                    report.Facts["render_node"] = node;
                    chosen = capset;
                }
            }
        }
        if (chosen is null)
            report.Fail("transport", $"none of the render nodes ({string.Join(", ", nodes)}) carries Venus (see above)",
                "start the VM with -device virtio-gpu-gl-pci,venus=on,blob=on,hostmem=… (QEMU ≥ 9.2) on a host whose virglrenderer has Venus; or use vtest: VN_DEBUG=vtest VTEST_SOCKET_NAME=…");
        return chosen;
    }

    private static void CheckCapset(DoctorReport report, VenusCapset capset)
    {
        report.Facts["capset"] = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["wire_format_version"] = capset.WireFormatVersion,
            ["vk_xml_version"] = VenusCapset.FormatVulkanVersion(capset.VkXmlVersion),
            ["vk_ext_command_serialization_spec_version"] = capset.VkExtCommandSerializationSpecVersion,
            ["vk_mesa_venus_protocol_spec_version"] = capset.VkMesaVenusProtocolSpecVersion,
            ["extension_count"] = capset.ExtensionCount,
            ["supports_blob_id_0"] = capset.SupportsBlobId0,
            ["supports_multiple_timelines"] = capset.SupportsMultipleTimelines,
        };
        string summary = $"wire format {capset.WireFormatVersion}, vk.xml {VenusCapset.FormatVulkanVersion(capset.VkXmlVersion)}, " +
            $"VK_MESA_venus_protocol spec {capset.VkMesaVenusProtocolSpecVersion}, {capset.ExtensionCount} extensions";
        if (capset.WhyUnusable() is { } unusable)
            report.Fail("capset", $"{unusable} ({summary})", "use a host of this wire format and protocol (virglrenderer ≥ 1.0 or venus-host)");
        else
            report.Ok("capset", summary);
        if (capset.VkXmlVersion < VenusProtocolInfo.VkXmlVersion)
            report.Warn("capset", $"the host's protocol is older than ours (vk.xml {VenusCapset.FormatVulkanVersion(capset.VkXmlVersion)} < " +
                $"{VenusCapset.FormatVulkanVersion(VenusProtocolInfo.VkXmlVersion)}): commands and extensions newer than its vk.xml are not offered " +
                $"(e.g. Vulkan {capset.VkXmlVersion >> 22 & 0x7F}.{capset.VkXmlVersion >> 12 & 0x3FF} is the most an app gets)",
                "for more of the host's Vulkan use a newer host (venus-host speaks vk.xml " + VenusCapset.FormatVulkanVersion(VenusProtocolInfo.VkXmlVersion) + ")");
        if (!capset.SupportsBlobId0)
            report.Warn("capset", "the host cannot make shared-memory blobs without a memory object (supports_blob_id_0 = 0)",
                "update the host: rings and reply streams need blob id 0");
    }

    private static void CheckTrial(DoctorReport report, TrialResult trial)
    {
        report.Facts["trial"] = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["error"] = trial.Error,
            ["loader_version"] = trial.LoaderVersion,
            ["instance_api_version"] = trial.InstanceApiVersion,
            ["instance_extension_count"] = trial.InstanceExtensionCount,
            ["devices"] = trial.Devices.Select(d => (object?)new SortedDictionary<string, object?>(StringComparer.Ordinal)
            {
                ["index"] = d.Index, ["name"] = d.Name, ["api_version"] = d.ApiVersion, ["type"] = d.Type,
                ["driver_name"] = d.DriverName, ["extension_count"] = d.ExtensionCount, ["ours"] = d.IsOurs,
                ["create_device"] = d.CreateDeviceResult,
            }).ToList(),
        };
        if (trial.Error is not null)
        {
            report.Fail("trial", $"an application's first steps fail: {trial.Error}",
                trial.LoaderVersion is null ? "install the Vulkan loader (Debian: libvulkan1)" : "run with VENUS_DEBUG=init,result to see our ICD's reasons");
            return;
        }
        report.Info("trial", $"loader {trial.LoaderVersion}: instance {trial.InstanceApiVersion} with {trial.InstanceExtensionCount} instance extensions, {trial.Devices.Count} physical device(s)");
        foreach (TrialDevice d in trial.Devices)
            report.Info("trial", $"device {d.Index}: {d.Name} ({d.Type}, Vulkan {d.ApiVersion}, driver {d.DriverName ?? "?"}, {d.ExtensionCount} device extensions)"
                + (d.CreateDeviceResult is null ? "" : $", vkCreateDevice: {d.CreateDeviceResult}"));

        TrialDevice? ours = trial.Devices.FirstOrDefault(d => d.IsOurs);
        if (ours is null)
        {
            string others = trial.Devices.Count == 0 ? "no device at all" : "only " + string.Join(", ", trial.Devices.Select(d => d.Name));
            report.Fail("trial", $"our device is not among the physical devices ({others}): an application falls back or finds nothing",
                "run with VENUS_DEBUG=init,result to see why our ICD offered no device (the transport and capset lines above name the usual causes)");
            return;
        }
        if (ours.CreateDeviceResult != nameof(Venus.Protocol.Vulkan.VkResult.VK_SUCCESS))
            report.Fail("trial", $"vkCreateDevice on {ours.Name} returned {ours.CreateDeviceResult}", "run with VENUS_DEBUG=init,result and look at the host's log");
        else
            report.Ok("trial", $"{ours.Name}: Vulkan {ours.ApiVersion}, {ours.ExtensionCount} device extensions, vkCreateDevice succeeds");
        if (ours.Index != 0)
            report.Warn("trial", $"our device is number {ours.Index}; applications that take the first device get {trial.Devices[0].Name}",
                "leave the other drivers out with VK_DRIVER_FILES (or VK_LOADER_DRIVERS_DISABLE), or pick the device in the app (e.g. GGML_VK_VISIBLE_DEVICES, MESA_VK_DEVICE_SELECT)");
    }
}
