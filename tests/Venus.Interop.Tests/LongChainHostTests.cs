using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Venus.Client;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using Xunit.Abstractions;
using static Venus.Client.VtestVenusSession;

namespace Venus.Interop.Tests;

/// <summary>
/// The longest valid feature query the protocol allows, through a real host: a guest (our
/// <see cref="VtestVenusSession"/>, as <c>venus probe</c> uses it) chains every feature struct the
/// protocol knows to VkPhysicalDeviceFeatures2 (<c>VkPhysicalDeviceFeatures2Wire.PartialChainSTypes</c>,
/// each once; the encoder drops those the host's capset does not cover) and sends
/// vkGetPhysicalDeviceFeatures2. The reply must decode into that chain and carry what lavapipe
/// reports natively (trixie's vulkaninfo in the same chroot) for every feature struct both have.
/// Issue 17: on a driver with 238 extensions vulkaninfo sends such a chain, and a host that caps
/// chains at 64 elements ends the context. venus-host's capset (vk.xml 1.4.309) takes all 116
/// feature structs; virglrenderer 1.1.0's (vk.xml 1.3.269) takes 69, and its decoder has no cap.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed unsafe class LongChainHostTests(InteropFixture fx, ITestOutputHelper output)
{
    static readonly IReadOnlyDictionary<int, Type> StructOf = ProtocolStructs.BySType;

    [Theory]
    [InlineData(HostKind.VenusHost)]
    [InlineData(HostKind.VirglRenderer)]
    public void TheLongestFeatureChainPassesThroughTheHost(HostKind kind)
    {
        Dictionary<string, Dictionary<string, bool>> native = NativeFeatures();
        using RunningHost host = fx.StartHost(kind);
        output.WriteLine($"host: {host}");

        int[] sTypes = VkPhysicalDeviceFeatures2Wire.PartialChainSTypes.ToArray();
        var blocks = new List<nint>();
        try
        {
            // The app's chain: VkPhysicalDeviceFeatures2 → every feature struct, zeroed.
            var features2 = (VkPhysicalDeviceFeatures2*)Alloc(blocks, sizeof(VkPhysicalDeviceFeatures2));
            features2->sType = VkPhysicalDeviceFeatures2.SType;
            void* head = null;
            foreach (int st in sTypes.Reverse())
            {
                var p = (VnChainHeader*)Alloc(blocks, RuntimeHelpers.SizeOf(StructOf[st].TypeHandle));
                p->sType = st;
                p->pNext = head;
                head = p;
            }
            features2->pNext = head;

            List<int> sent;
            string log;
            using (VtestVenusSession s = Open(host.SocketPath, nameof(LongChainHostTests)))
            {
                uint version = VenusProbe.EnumerateInstanceVersion(s);
                ulong instance = VenusProbe.CreateInstance(s, version & ~0xFFFu);
                ulong device = VenusProbe.EnumeratePhysicalDevices(s, instance)[0];

                sent = SentChain(s, device, features2);
                output.WriteLine($"{kind}: capset vk.xml {s.Capset.VkXmlVersion >> 22}.{(s.Capset.VkXmlVersion >> 12) & 0x3FF}.{s.Capset.VkXmlVersion & 0xFFF}, " +
                                 $"{sent.Count} of the {sTypes.Length} feature structs travel");

                VnEncoder e = s.BeginCall(vkGetPhysicalDeviceFeatures2.Size(device, features2, s.Filter),
                    vkGetPhysicalDeviceFeatures2.ReplySize(device, features2));
                vkGetPhysicalDeviceFeatures2.Encode(ref e, Reply, device, features2);
                try
                {
                    VnDecoder d = s.Submit(e);
                    vkGetPhysicalDeviceFeatures2.DecodeReply(ref d, device, features2);
                    s.Check(d);
                }
                catch (Exception ex) when (ex is VenusCallException or Venus.Transport.Vtest.VtestException)
                {
                    Assert.Fail($"{kind}: vkGetPhysicalDeviceFeatures2 with {sent.Count} chained structs: {ex.Message}\n" +
                                $"--- host log ---\n{host.LogTail(20)}");
                }
                VenusProbe.DestroyInstance(s, instance);
                log = host.LogTail(20);
            }
            Assert.True(host.IsAlive, log);
            // The old fixed cap was 64: a chain that short would not show the fix.
            Assert.True(sent.Count > 64, $"only {sent.Count} feature structs travel to {kind}");

            // Every feature struct both sides have holds what lavapipe reports natively.
            int structs = 0, fields = 0;
            var differences = new List<string>();
            Compare("VkPhysicalDeviceFeatures", &features2->features, typeof(VkPhysicalDeviceFeatures), native, differences, ref structs, ref fields);
            for (var p = (VnChainHeader*)features2->pNext; p != null; p = (VnChainHeader*)p->pNext)
                if (sent.Contains(p->sType))
                    Compare(StructOf[p->sType].Name, p, StructOf[p->sType], native, differences, ref structs, ref fields);
            output.WriteLine($"{kind}: {fields} feature values in {structs} structs compared with native vulkaninfo");
            Assert.True(differences.Count == 0, $"{kind}: differs from native lavapipe:\n{string.Join("\n", differences)}");
            // venus-host covers vk.xml 1.4.309 (53 of them here), virglrenderer 1.1.0 vk.xml 1.3.269 (31).
            Assert.True(structs > 25, $"only {structs} of native vulkaninfo's feature structs travelled to {kind}");

            // A few features every trixie lavapipe has, spelled out.
            Assert.True(Bool(features2->pNext, "VkPhysicalDeviceVulkan12Features", "timelineSemaphore"));
            Assert.True(Bool(features2->pNext, "VkPhysicalDeviceVulkan13Features", "synchronization2"));
            Assert.True(Bool(features2->pNext, "VkPhysicalDeviceVulkan13Features", "dynamicRendering"));
            Assert.True(Bool(features2->pNext, "VkPhysicalDeviceVulkan11Features", "multiview"));
        }
        finally
        {
            foreach (nint b in blocks) NativeMemory.Free((void*)b);
        }
    }

    private static void* Alloc(List<nint> blocks, int size)
    {
        void* p = NativeMemory.AllocZeroed((nuint)size);
        blocks.Add((nint)p);
        return p;
    }

    /// <summary>
    /// The chain structs the request carries after the session's filter, read off the wire by hand
    /// (not with the decoder under test): type, flags, physicalDevice, pFeatures, sType, then
    /// (u64 1, i32 sType) per element up to u64 0 (§1.5).
    /// </summary>
    private static List<int> SentChain(VtestVenusSession s, ulong device, VkPhysicalDeviceFeatures2* features2)
    {
        var buf = new byte[vkGetPhysicalDeviceFeatures2.Size(device, features2, s.Filter)];
        var e = new VnEncoder(buf, s.Filter);
        vkGetPhysicalDeviceFeatures2.Encode(ref e, Reply, device, features2);
        var sent = new List<int>();
        int at = 4 + 4 + 8 + 8 + 4;
        while (BitConverter.ToUInt64(buf, at) != 0)
        {
            sent.Add(BitConverter.ToInt32(buf, at + 8));
            at += 12;
        }
        return sent;
    }

    private static bool Bool(void* chain, string structName, string field)
    {
        for (var p = (VnChainHeader*)chain; p != null; p = (VnChainHeader*)p->pNext)
        {
            Type t = StructOf[p->sType];
            if (t.Name == structName)
                return *(uint*)((byte*)p + Marshal.OffsetOf(t, field)) != 0;
        }
        throw new InvalidOperationException($"{structName} is not in the chain");
    }

    private static void Compare(string name, void* p, Type t, Dictionary<string, Dictionary<string, bool>> native,
        List<string> differences, ref int structs, ref int fields)
    {
        if (!native.TryGetValue(name, out Dictionary<string, bool>? values))
            return;
        structs++;
        foreach ((string field, bool expected) in values)
        {
            FieldInfo? f = t.GetField(field);
            if (f is null || f.FieldType != typeof(uint))
            {
                differences.Add($"{name}.{field}: no VkBool32 member of that name");
                continue;
            }
            fields++;
            bool got = *(uint*)((byte*)p + Marshal.OffsetOf(t, field)) != 0;
            if (got != expected)
                differences.Add($"{name}.{field}: {got}, native {expected}");
        }
    }

    /// <summary>Feature structs and their values from trixie's vulkaninfo on lavapipe, natively.</summary>
    private Dictionary<string, Dictionary<string, bool>> NativeFeatures()
    {
        RunResult run = fx.RunNative("vulkaninfo", InteropFixture.VulkanInfoTimeout);
        Assert.True(run.Succeeded, run.ToString());
        var result = new Dictionary<string, Dictionary<string, bool>>();
        Dictionary<string, bool>? current = null;
        foreach (string raw in run.Stdout.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            Match header = Regex.Match(line, @"^(VkPhysicalDevice\w*Features\w*):\s*$");
            if (header.Success)
            {
                current = result[header.Groups[1].Value] = new Dictionary<string, bool>();
                continue;
            }
            Match value = Regex.Match(line, @"^\t(\w+)\s*=\s*(true|false)\s*$");
            if (value.Success && current is not null)
                current[value.Groups[1].Value] = value.Groups[2].Value == "true";
            else if (line.Length == 0 || !line.StartsWith('\t') && !line.StartsWith('-') && !line.StartsWith('='))
                current = null;
        }
        output.WriteLine($"native vulkaninfo: {result.Count} feature structs");
        Assert.True(result.Count > 40, $"native vulkaninfo printed only {result.Count} feature structs");
        return result;
    }
}
