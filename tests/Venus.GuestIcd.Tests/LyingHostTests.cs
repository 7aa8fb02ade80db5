using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// Our ICD against a host that lies (<see cref="LyingHost"/>: the real vtest server framing, one lie
/// per case). A real app (vulkaninfo --summary, in the chroot, through our ICD) must get an error
/// code and exit by itself: no signal (SIGBUS/SIGSEGV/SIGABRT), no hang, and one <c>venus:</c> line
/// on stderr that says what the host did wrong.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class LyingHostTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(HostLie.CapsetUnknownWireFormat, "wire format 3735879681")]
    [InlineData(HostLie.CapsetHuge, "GET_CAPSET claims")]
    [InlineData(HostLie.CapsetTruncated, "Vulkan 1.1 is the minimum")]
    [InlineData(HostLie.BlobShorterThanAsked, "less than the")]
    [InlineData(HostLie.BlobFdNotMemory, "blob resource")]
    [InlineData(HostLie.RingHeadPastTail, "ring head")]
    [InlineData(HostLie.RingHeadBackwards, "ring head")]
    [InlineData(HostLie.RingStatusGarbage, "FATAL")]
    [InlineData(HostLie.ReplyGarbage, "did not decode")]
    [InlineData(HostLie.ReplySizesLie, "did not decode")]
    [InlineData(HostLie.HangUpMidReply, "the host closed the connection")]
    public void AppGetsAnErrorAndExitsCleanly(HostLie lie, string why)
    {
        IcdInstall icd = fx.Icd;
        using LyingHost host = LyingHost.Start(fx.PeersRoot, IcdFixture.SocketPrefix, lie);
        var env = fx.IcdEnvironment(host.ChrootSocketPath);
        RunResult run = fx.RunInChroot("vulkaninfo --summary", env, Limit);
        string report = $"{lie} through {icd.ManifestPath}:\n{run}\n--- lying host ---\n{host.LogText()}";
        output.WriteLine(report);

        Assert.False(run.TimedOut, $"the app hung against a host that lies ({lie}):\n{report}");
        Assert.True(run.Signal is null, $"the app died of {run.Signal} against a host that lies ({lie}):\n{report}");
        Assert.True(run.ExitCode != 0, $"the app succeeded against a host that lies ({lie}):\n{report}");
        Assert.DoesNotContain("Unhandled exception", run.Stderr);
        string[] venusLines = run.Stderr.Split('\n').Where(l => l.StartsWith("venus: ", StringComparison.Ordinal)).ToArray();
        Assert.True(venusLines.Any(l => l.Contains(why, StringComparison.Ordinal)),
            $"no 'venus:' line says why ('{why}'):\n{report}");
        Assert.True(host.LogText().Contains("lie:", StringComparison.Ordinal) || lie.ToString().StartsWith("Capset", StringComparison.Ordinal),
            $"the lying host never told its lie ({lie}): the test did not test it:\n{report}");
    }

    /// <summary>
    /// The same mid-run, against the real venus-host behind a <see cref="LyingProxy"/>: tests/clients/hostkill.c
    /// (submit, wait, reset in a loop) through our ICD; 3 s in, the head jumps past the tail or the
    /// connection is shut down. The client's next call must give VK_ERROR_DEVICE_LOST ("fail CALL -4", exit 3).
    /// </summary>
    [Theory]
    [InlineData(ProxyLie.RingHeadPastTail, "ring head")]
    [InlineData(ProxyLie.HangUp, "the host closed the connection")]
    public void RunningAppGetsDeviceLost(ProxyLie lie, string why)
    {
        IcdInstall icd = fx.Icd;
        RunningHost real = fx.SharedHost(HostKind.VenusHost);
        string name = $"{IcdFixture.SocketPrefix}-proxy-{(int)lie}-{Environment.ProcessId}.sock";
        using var proxy = new LyingProxy(Path.Combine(fx.PeersRoot, "tmp", name), "/tmp/" + name, real.SocketPath, lie, TimeSpan.FromSeconds(3));
        RunResult run = fx.RunInChroot(fx.Clients.Executable("hostkill"), fx.IcdEnvironment(proxy.ChrootSocketPath), TimeSpan.FromSeconds(30));
        string report = $"{lie} through {icd.ManifestPath} against {real} behind a lying proxy:\n{run}\n--- proxy ---\n{proxy.LogText()}";
        output.WriteLine(report);

        Assert.False(run.TimedOut, $"the app hung:\n{report}");
        Assert.True(run.Signal is null, $"the app died of {run.Signal}:\n{report}");
        Assert.Contains("lie:", proxy.LogText());
        Assert.Matches(@"(?m)^ok \d+", run.Stdout);
        Assert.Matches(@"(?m)^fail \w+ -4 ", run.Stdout);
        Assert.True(run.ExitCode == 3, $"exit {run.ExitCode}, expected 3 after the 'fail' line:\n{report}");
        Assert.Contains(run.Stderr.Split('\n'), l => l.StartsWith("venus: ", StringComparison.Ordinal) && l.Contains(why, StringComparison.Ordinal));
    }
}
