using System.Globalization;
using System.Text.Json;
using Venus.Cli;
using Venus.Client;
using Venus.Protocol;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using Xunit.Abstractions;

namespace Venus.Peers.Tests;

/// <summary>
/// <c>venus probe</c> against virglrenderer 1.1.0 on lavapipe, checked against what trixie's own
/// <c>vulkaninfo</c> reports for the same lavapipe in the same chroot.
/// </summary>
[Collection(PeersCollection.Name)]
public sealed class ProbeTests(PeersFixture peers, ITestOutputHelper output)
{
    /// <summary>virglrenderer 1.1.0's VKR_MAX_API_VERSION: it caps the minor of every version it reports.</summary>
    private static readonly uint VkrMaxApiVersion = VenusCapset.MakeVulkanVersion(1, 3, 0);

    private static readonly Dictionary<string, string> LavapipeEnvironment = new()
    {
        ["VK_DRIVER_FILES"] = "/usr/share/vulkan/icd.d/lvp_icd.json",
        ["XDG_RUNTIME_DIR"] = "/tmp",
    };

    private static string CliPath => Path.Combine(AppContext.BaseDirectory, "venus");

    [Fact]
    public void ProbeMatchesNativeVulkaninfoForLavapipe()
    {
        ProbeReport report;
        using (VtestVenusSession session = VtestVenusSession.Open(peers.SocketPath, nameof(ProbeTests)))
            report = VenusProbe.Run(session);
        var text = new StringWriter();
        ProbeOutput.WriteText(text, report);
        output.WriteLine(text.ToString());

        NativeDevice native = RunNativeVulkaninfo();
        output.WriteLine($"native vulkaninfo: {native.Name}, {VenusCapset.FormatVulkanVersion(native.ApiVersion)}, " +
                         $"{native.QueueFamilies.Count} queue families, {native.Heaps.Count} heaps, {native.Types.Count} memory types, " +
                         $"{native.Extensions.Count} extensions");

        Assert.Equal(1u, report.Capset.WireFormatVersion);
        Assert.Equal(VenusCapset.MakeVulkanVersion(1, 3, 0), report.InstanceApiVersion);
        DeviceReport device = Assert.Single(report.Devices);

        // virglrenderer passes the host device through (Mesa's guest would add "Virtio-GPU Venus (…)").
        Assert.Equal(native.Name, device.Name);
        // vkr caps the minor to its VKR_MAX_API_VERSION (1.3 in 1.1.0) and keeps the patch:
        // lavapipe 1.4.305 arrives as 1.3.305.
        Assert.Equal(CapMinor(native.ApiVersion, VkrMaxApiVersion), device.ApiVersion);
        Assert.Equal(native.VendorId, device.VendorId);
        Assert.Equal(native.DeviceId, device.DeviceId);
        Assert.Equal(native.DeviceType, Enum.GetName(device.DeviceType));

        Assert.Equal(native.QueueFamilies.Count, device.QueueFamilies.Count);
        for (int i = 0; i < native.QueueFamilies.Count; i++)
        {
            Assert.Equal(native.QueueFamilies[i].Flags, device.QueueFamilies[i].Flags);
            Assert.Equal(native.QueueFamilies[i].Count, device.QueueFamilies[i].QueueCount);
            Assert.Equal(native.QueueFamilies[i].TimestampValidBits, device.QueueFamilies[i].TimestampValidBits);
        }

        Assert.Equal(native.Heaps.Count, device.MemoryHeaps.Count);
        for (int i = 0; i < native.Heaps.Count; i++)
        {
            Assert.Equal(native.Heaps[i].Size, device.MemoryHeaps[i].Size);
            Assert.Equal(native.Heaps[i].Flags, device.MemoryHeaps[i].Flags);
        }
        Assert.Equal(native.Types.Count, device.MemoryTypes.Count);
        for (int i = 0; i < native.Types.Count; i++)
        {
            Assert.Equal(native.Types[i].PropertyFlags, device.MemoryTypes[i].PropertyFlags);
            Assert.Equal(native.Types[i].HeapIndex, device.MemoryTypes[i].HeapIndex);
        }

        // vkr advertises only the extensions its protocol knows, never more than the driver has.
        Assert.InRange(device.Extensions.Count, 50, native.Extensions.Count);
        foreach (ExtensionReport extension in device.Extensions)
        {
            Assert.True(native.Extensions.TryGetValue(extension.Name, out uint nativeSpec),
                $"{extension.Name} is not a lavapipe extension");
            Assert.True(extension.SpecVersion <= nativeSpec, $"{extension.Name} spec {extension.SpecVersion} > lavapipe's {nativeSpec}");
        }
        Assert.True(peers.IsServerAlive, peers.ReadServerLog());
    }

    [Fact]
    public void ProbeCliPrintsTheReportAsTextAndJson()
    {
        ProcessResult text = RunCli("probe", "--socket", peers.SocketPath);
        output.WriteLine(text.ToString());
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Equal("", text.Stderr);
        Assert.Contains("wire format 1, vk.xml 1.3.269", text.Stdout);
        Assert.Contains("device 0: llvmpipe", text.Stdout);
        Assert.Contains("deviceType        VK_PHYSICAL_DEVICE_TYPE_CPU", text.Stdout);

        ProcessResult json = RunCli("probe", "--json", "--socket", peers.SocketPath);
        Assert.True(json.ExitCode == 0, json.ToString());
        using JsonDocument document = JsonDocument.Parse(json.Stdout);
        JsonElement root = document.RootElement;
        Assert.Equal(1, root.GetProperty("capset").GetProperty("wireFormatVersion").GetInt32());
        Assert.Equal("1.3.269", root.GetProperty("capset").GetProperty("vkXmlVersion").GetString());
        JsonElement device = Assert.Single(root.GetProperty("devices").EnumerateArray());
        Assert.StartsWith("llvmpipe", device.GetProperty("deviceName").GetString());
        Assert.StartsWith("1.3.", device.GetProperty("apiVersion").GetString());
        Assert.Equal(device.GetProperty("extensionCount").GetInt32(), device.GetProperty("extensions").EnumerateObject().Count());
        Assert.Contains("VK_QUEUE_GRAPHICS_BIT",
            device.GetProperty("queueFamilies")[0].GetProperty("queueFlags").EnumerateArray().Select(f => f.GetString()));
    }

    [Fact]
    public void ProbeCliWithAMissingSocketFailsNamingThePath()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"venus-probe-missing-{Guid.NewGuid():N}.sock");
        ProcessResult result = RunCli("probe", "--socket", missing);
        output.WriteLine(result.ToString());
        Assert.Equal(VenusCli.ExitFailed, result.ExitCode);
        Assert.Contains(missing, result.Stderr);
        Assert.Equal("", result.Stdout);
        Assert.Single(result.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void ProbeCliWithAnUnknownFlagPrintsUsageAndExits2()
    {
        ProcessResult result = RunCli("probe", "--socket", peers.SocketPath, "--frobnicate");
        output.WriteLine(result.ToString());
        Assert.Equal(VenusCli.ExitUsage, result.ExitCode);
        Assert.Contains("unknown option '--frobnicate'", result.Stderr);
        Assert.Contains("usage: venus", result.Stderr);
    }

    [Theory]
    [InlineData(new string[0], "no command given")]
    [InlineData(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    [InlineData(new[] { "probe", "--socket" }, "--socket needs a path")]
    public void ProbeCliUsageErrorsExit2(string[] args, string message)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(VenusCli.ExitUsage, VenusCli.Run(args, stdout, stderr));
        Assert.Contains(message, stderr.ToString());
        Assert.Contains("usage: venus", stderr.ToString());
        Assert.Equal("", stdout.ToString());
    }

    [Fact]
    public unsafe void ProbeSessionNamesAFailedVkResult()
    {
        using VtestVenusSession s = VtestVenusSession.Open(peers.SocketPath, nameof(ProbeTests));
        // Fact sheet §1.9: the host answers any enabled instance extension with -7.
        fixed (byte* extension = "VK_KHR_surface\0"u8)
        {
            byte* name = extension;
            var app = new VkApplicationInfo { sType = VkApplicationInfo.SType, apiVersion = VenusCapset.MakeVulkanVersion(1, 1, 0) };
            var info = new VkInstanceCreateInfo
            {
                sType = VkInstanceCreateInfo.SType,
                pApplicationInfo = &app,
                enabledExtensionCount = 1,
                ppEnabledExtensionNames = &name,
            };
            ulong instance = s.NewObjectId();

            VnEncoder e = s.BeginCall(vkCreateInstance.Size(&info, null, &instance, s.Filter), vkCreateInstance.ReplySize(&info, null, &instance));
            vkCreateInstance.Encode(ref e, VtestVenusSession.Reply, &info, null, &instance);
            VnDecoder d = s.Submit(e);
            VkResult result = vkCreateInstance.DecodeReply(ref d, &info, null, &instance);
            string message = CheckFailure(s, d, result);
            output.WriteLine(message);
            Assert.Equal("vkCreateInstance failed: VK_ERROR_EXTENSION_NOT_PRESENT (-7)", message);
        }

        // The session stays usable after a failed call.
        Assert.True(VenusProbe.EnumerateInstanceVersion(s) >= VenusCapset.MakeVulkanVersion(1, 1, 0));
    }

    [Fact]
    public unsafe void ProbeSessionNamesTheDecodeError()
    {
        using VtestVenusSession s = VtestVenusSession.Open(peers.SocketPath, nameof(ProbeTests));
        uint version = 0;
        VnEncoder e = s.BeginCall(vkEnumerateInstanceVersion.Size(&version), vkEnumerateInstanceVersion.ReplySize(&version));
        vkEnumerateInstanceVersion.Encode(ref e, VtestVenusSession.Reply, &version);
        VnDecoder d = s.Submit(e);
        // Read the reply as if it answered another command: its type echo does not match.
        vkEnumeratePhysicalDevices.DecodeReply(ref d, 1, null, null);
        Assert.Equal(VnDecodeError.UnknownCommand, d.Error);
        string message = CheckFailure(s, d);
        output.WriteLine(message);
        Assert.Equal("vkEnumerateInstanceVersion: the reply did not decode: UnknownCommand at byte 4 of 20", message);
    }

    /// <summary>The message of the <see cref="VenusCallException"/> that Check throws (a lambda cannot capture the decoder).</summary>
    private static string CheckFailure(VtestVenusSession s, in VnDecoder d, VkResult? result = null)
    {
        try
        {
            if (result is VkResult r)
                s.Check(d, r);
            else
                s.Check(d);
        }
        catch (VenusCallException e)
        {
            return e.Message;
        }
        Assert.Fail("Check did not throw");
        return "";
    }

    private static uint CapMinor(uint version, uint cap) =>
        ((version >> 12) & 0x3FF) > ((cap >> 12) & 0x3FF) ? (cap & ~0xFFFu) | (version & 0xFFF) : version;

    private static ProcessResult RunCli(params string[] args) =>
        ProcessRunner.Run(CliPath, args, TimeSpan.FromSeconds(30));

    // ---- trixie's vulkaninfo on lavapipe --------------------------------------------------------

    private sealed record NativeQueueFamily(uint Flags, uint Count, uint TimestampValidBits);
    private sealed record NativeHeap(ulong Size, uint Flags);
    private sealed record NativeMemoryType(uint PropertyFlags, uint HeapIndex);
    private sealed record NativeDevice(string Name, uint ApiVersion, uint VendorId, uint DeviceId, string DeviceType,
        List<NativeQueueFamily> QueueFamilies, List<NativeHeap> Heaps, List<NativeMemoryType> Types,
        Dictionary<string, uint> Extensions);

    /// <summary>
    /// Properties, queue families and extensions from <c>vulkaninfo --json</c> (the Vulkan
    /// Profiles export); the memory properties, which that export leaves out, from the text output.
    /// </summary>
    private NativeDevice RunNativeVulkaninfo()
    {
        ProcessResult json = peers.RunInChroot("vulkaninfo --json -o /dev/stdout", LavapipeEnvironment);
        Assert.True(json.ExitCode == 0, json.ToString());
        using JsonDocument document = JsonDocument.Parse(json.Stdout);
        JsonElement device = document.RootElement.GetProperty("capabilities").GetProperty("device");
        JsonElement props = device.GetProperty("properties").GetProperty("VkPhysicalDeviceProperties");

        var families = new List<NativeQueueFamily>();
        foreach (JsonElement family in device.GetProperty("queueFamiliesProperties").EnumerateArray())
        {
            JsonElement f = family.GetProperty("VkQueueFamilyProperties");
            uint flags = 0;
            foreach (JsonElement flag in f.GetProperty("queueFlags").EnumerateArray())
                flags |= (uint)Enum.Parse<VkQueueFlagBits>(flag.GetString()!);
            families.Add(new NativeQueueFamily(flags, f.GetProperty("queueCount").GetUInt32(), f.GetProperty("timestampValidBits").GetUInt32()));
        }

        var extensions = new Dictionary<string, uint>();
        foreach (JsonProperty extension in device.GetProperty("extensions").EnumerateObject())
            extensions[extension.Name] = extension.Value.GetUInt32();

        ProcessResult text = peers.RunInChroot("vulkaninfo", LavapipeEnvironment);
        Assert.True(text.ExitCode == 0, text.ToString());
        (List<NativeHeap> heaps, List<NativeMemoryType> types) = ParseMemoryProperties(text.Stdout);

        return new NativeDevice(props.GetProperty("deviceName").GetString()!, props.GetProperty("apiVersion").GetUInt32(),
            props.GetProperty("vendorID").GetUInt32(), props.GetProperty("deviceID").GetUInt32(),
            props.GetProperty("deviceType").GetString()!, families, heaps, types, extensions);
    }

    /// <summary>
    /// The "VkPhysicalDeviceMemoryProperties:" section of vulkaninfo's text output:
    /// <code>
    /// memoryHeaps: count = 1
    ///     memoryHeaps[0]:
    ///         size   = 25276514304 (0x5e2990000) (23.54 GiB)
    ///         ...
    ///         flags: count = 1
    ///             MEMORY_HEAP_DEVICE_LOCAL_BIT
    /// memoryTypes: count = 1
    ///     memoryTypes[0]:
    ///         heapIndex     = 0
    ///         propertyFlags = 0x000f: count = 4
    /// </code>
    /// </summary>
    private static (List<NativeHeap>, List<NativeMemoryType>) ParseMemoryProperties(string text)
    {
        const string Header = "VkPhysicalDeviceMemoryProperties:";
        int start = text.IndexOf(Header, StringComparison.Ordinal);
        Assert.True(start >= 0, $"no {Header} in vulkaninfo's output");
        string[] lines = text[start..].Split('\n').Select(l => l.Trim()).ToArray();

        var heaps = new List<NativeHeap>();
        var types = new List<NativeMemoryType>();
        int declaredHeaps = -1, declaredTypes = -1;
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.EndsWith(':') && line.StartsWith("VkPhysicalDevice", StringComparison.Ordinal))
                break; // the next section
            if (line.StartsWith("memoryHeaps: count = ", StringComparison.Ordinal))
                declaredHeaps = int.Parse(line["memoryHeaps: count = ".Length..], CultureInfo.InvariantCulture);
            else if (line.StartsWith("memoryTypes: count = ", StringComparison.Ordinal))
                declaredTypes = int.Parse(line["memoryTypes: count = ".Length..], CultureInfo.InvariantCulture);
            else if (line.StartsWith("memoryHeaps[", StringComparison.Ordinal))
                heaps.Add(new NativeHeap(0, 0));
            else if (line.StartsWith("memoryTypes[", StringComparison.Ordinal))
                types.Add(new NativeMemoryType(0, 0));
            else if (line.StartsWith("size", StringComparison.Ordinal) && heaps.Count > 0 && types.Count == 0)
                heaps[^1] = heaps[^1] with { Size = ulong.Parse(ValueAfterEquals(line), CultureInfo.InvariantCulture) };
            else if (line.StartsWith("flags: count = ", StringComparison.Ordinal) && heaps.Count > 0 && types.Count == 0)
            {
                int count = int.Parse(line["flags: count = ".Length..], CultureInfo.InvariantCulture);
                uint flags = 0;
                for (int k = 0; k < count; k++)
                    flags |= (uint)Enum.Parse<VkMemoryHeapFlagBits>("VK_" + lines[++i]);
                heaps[^1] = heaps[^1] with { Flags = flags };
            }
            else if (line.StartsWith("heapIndex", StringComparison.Ordinal) && types.Count > 0)
                types[^1] = types[^1] with { HeapIndex = uint.Parse(ValueAfterEquals(line), CultureInfo.InvariantCulture) };
            else if (line.StartsWith("propertyFlags", StringComparison.Ordinal) && types.Count > 0)
            {
                string hex = ValueAfterEquals(line).TrimEnd(':');
                Assert.StartsWith("0x", hex);
                types[^1] = types[^1] with { PropertyFlags = uint.Parse(hex[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) };
            }
        }
        Assert.Equal(declaredHeaps, heaps.Count);
        Assert.Equal(declaredTypes, types.Count);
        return (heaps, types);
    }

    /// <summary>"size   = 25276514304 (0x…) (23.54 GiB)" → "25276514304".</summary>
    private static string ValueAfterEquals(string line) =>
        line[(line.IndexOf('=') + 1)..].Trim().Split(' ')[0];
}
