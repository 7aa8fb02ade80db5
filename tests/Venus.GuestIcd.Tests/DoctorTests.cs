using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// <c>venus doctor</c> (the NativeAOT CLI, run in the chroot where the apps run) in the setups we can
/// make here: working over vtest on venus-host and on virglrenderer 1.1.0 (exit 0, our device found
/// and a device created), and broken: no manifest, only another driver's manifest, a socket that is
/// not there, a host that is not running behind its socket, no vtest and no render node. Each broken
/// setup exits 1 with a FAIL line naming the cause and a fix; the JSON form says the same.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class DoctorTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private RunResult Doctor(Dictionary<string, string> env, string args = "")
    {
        RunResult run = fx.RunInChroot($"{fx.Cli} doctor {args}", env, Timeout);
        output.WriteLine(run.ToString());
        return run;
    }

    [Theory]
    [InlineData(HostKind.VenusHost)]
    [InlineData(HostKind.VirglRenderer)]
    public void WorkingVtestSetupExitsZeroAndFindsOurDevice(HostKind kind)
    {
        RunningHost host = fx.SharedHost(kind);
        RunResult run = Doctor(fx.IcdEnvironment(host.ChrootSocketPath));
        Assert.True(run.Succeeded, run.ToString());
        Assert.Contains("verdict: an application here gets our Venus device", run.Stdout);
        Assert.Contains($"vtest (VN_DEBUG contains vtest): host at {host.ChrootSocketPath} answers", run.Stdout);
        Assert.Matches(@"ok    trial .*Virtio-GPU Venus\.NET \(llvmpipe.*vkCreateDevice succeeds", run.Stdout);
        Assert.DoesNotContain("FAIL", run.Stdout);
        // virglrenderer 1.1.0 speaks vk.xml 1.3.269: what it lacks is said, as a warning.
        if (kind == HostKind.VirglRenderer)
            Assert.Contains("WARN  capset      the host's protocol is older than ours (vk.xml 1.3.269 < 1.4.309)", run.Stdout);
        else
            Assert.DoesNotContain("WARN", run.Stdout);

        RunResult json = Doctor(fx.IcdEnvironment(host.ChrootSocketPath), "--json");
        Assert.True(json.Succeeded, json.ToString());
        using JsonDocument doc = JsonDocument.Parse(json.Stdout);
        JsonElement root = doc.RootElement;
        Assert.True(root.GetProperty("healthy").GetBoolean());
        JsonElement facts = root.GetProperty("facts");
        Assert.Equal("vtest", facts.GetProperty("transport").GetString());
        Assert.True(facts.GetProperty("capset").GetProperty("extension_count").GetInt32() > 50);
        JsonElement ours = facts.GetProperty("trial").GetProperty("devices").EnumerateArray().Single(d => d.GetProperty("ours").GetBoolean());
        Assert.Equal("VK_SUCCESS", ours.GetProperty("create_device").GetString());
        Assert.True(ours.GetProperty("extension_count").GetInt32() > 50);
    }

    [Fact]
    public void NoManifestFails()
    {
        Dictionary<string, string> env = fx.IcdEnvironment(fx.SharedHost(HostKind.VenusHost).ChrootSocketPath);
        env["VK_DRIVER_FILES"] = "/nonexistent/venus_icd.json";
        RunResult run = Doctor(env);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("FAIL  manifests   the loader finds no driver manifest (VK_DRIVER_FILES: /nonexistent/venus_icd.json)", run.Stdout);
        Assert.Contains("verdict: an application here does NOT get our Venus device", run.Stdout);
    }

    [Fact]
    public void OnlyAnotherDriverMeansFallback()
    {
        Dictionary<string, string> env = fx.IcdEnvironment(fx.SharedHost(HostKind.VenusHost).ChrootSocketPath);
        env["VK_DRIVER_FILES"] = GuestDriverFixture.LavapipeIcd;
        RunResult run = Doctor(env);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("is ours (libvenus_icd.so): lvp_icd.json → libvulkan_lvp.so", run.Stdout);
        Assert.Matches(@"FAIL  trial .*our device is not among the physical devices \(only llvmpipe", run.Stdout);
    }

    [Fact]
    public void MissingSocketFails()
    {
        Dictionary<string, string> env = fx.IcdEnvironment("/tmp/venus-doctor-no-such.sock");
        RunResult run = Doctor(env);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("FAIL  transport   vtest (VN_DEBUG contains vtest), but there is no socket at /tmp/venus-doctor-no-such.sock", run.Stdout);
        Assert.Contains("→ start the host", run.Stdout);
    }

    [Fact]
    public void SocketWithoutARunningHostFails()
    {
        // A socket file whose server is gone, as a killed host leaves behind.
        const string chrootPath = "/tmp/venus-doctor-stale.sock";
        string path = fx.PeersRoot + chrootPath;
        File.Delete(path);
        // .NET unlinks a socket's path when it closes: bind elsewhere and move the file away first.
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            socket.Bind(new UnixDomainSocketEndPoint(path + ".bound"));
            File.Move(path + ".bound", path);
        }
        try
        {
            Assert.True(File.Exists(path), "the stale socket file was not left behind");
            RunResult run = Doctor(fx.IcdEnvironment(chrootPath));
            Assert.Equal(1, run.ExitCode);
            Assert.Contains($"FAIL  transport   vtest (VN_DEBUG contains vtest): the host at {chrootPath} does not answer", run.Stdout);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void NoVtestAndNoRenderNodeFails()
    {
        Dictionary<string, string> env = fx.IcdEnvironment("/unused");
        env.Remove("VN_DEBUG");
        env["VENUS_RENDER_NODE"] = "/dev/dri/renderD199";
        RunResult run = Doctor(env, "--json");
        Assert.Equal(1, run.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(run.Stdout);
        Assert.False(doc.RootElement.GetProperty("healthy").GetBoolean());
        Assert.Equal("virtgpu", doc.RootElement.GetProperty("facts").GetProperty("transport").GetString());
        JsonElement node = doc.RootElement.GetProperty("facts").GetProperty("render_nodes")[0];
        Assert.Contains("cannot open /dev/dri/renderD199", node.GetProperty("error").GetString());
        Assert.Contains(doc.RootElement.GetProperty("findings").EnumerateArray(),
            f => f.GetProperty("severity").GetString() == "fail" && f.GetProperty("topic").GetString() == "transport");
    }

    [Fact]
    public void HostModeOnLavapipeIsHealthyAndBadFlagsAreUsageErrors()
    {
        fx.SharedHost(HostKind.VenusHost); // installs venus-host into the chroot (eng/host.sh)
        string hostDir = "/opt/venus-host-" + Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(fx.RepoRoot)))[..8];
        Dictionary<string, string> env = GuestDriverFixture.NativeEnvironment();
        env["PATH"] = hostDir + ":" + env["PATH"];
        RunResult run = Doctor(env, "--host --json");
        Assert.True(run.Succeeded, run.ToString());
        using JsonDocument doc = JsonDocument.Parse(run.Stdout);
        Assert.True(doc.RootElement.GetProperty("healthy").GetBoolean());
        Assert.Equal(hostDir + "/venus-host", doc.RootElement.GetProperty("facts").GetProperty("venus_host").GetString());
        bool jit = File.Exists(fx.PeersRoot + hostDir + "/venus-host.dll");
        Assert.Equal(!jit, doc.RootElement.GetProperty("facts").GetProperty("venus_host_native_aot").GetBoolean());
        JsonElement driver = doc.RootElement.GetProperty("facts").GetProperty("drivers")[0];
        Assert.StartsWith("llvmpipe", driver.GetProperty("name").GetString());
        Assert.True(driver.GetProperty("external_memory_host").GetBoolean());
        Assert.True(doc.RootElement.GetProperty("facts").GetProperty("memfd").GetBoolean());

        RunResult bad = Doctor(env, "--frobnicate");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("venus: doctor: unknown option '--frobnicate'", bad.Stderr);
    }
}
