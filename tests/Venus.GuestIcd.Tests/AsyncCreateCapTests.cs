using System.Globalization;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// Asynchronous creation under a host that then fails (issue 12): our ICD sends vkCreateBuffer
/// without waiting for the host, so a host that refuses the object cannot answer that call. Here
/// venus-host's object cap (<c>--max-objects 100</c>) ends the context part-way through
/// tests/clients/objcap.c's 500 creations; the failure must reach the app at the next call that can
/// report it (a later vkCreateBuffer, which sees the ring's FATAL bit, or vkDeviceWaitIdle at the
/// latest) as VK_ERROR_DEVICE_LOST within a second, teardown must return, the host must log why and
/// stay up, and a second client on the same host (a fresh context) must create its 50 buffers and
/// wait idle with VK_SUCCESS: nothing of the failed context counts against it. In both isolation modes.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class AsyncCreateCapTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly Regex Created = new(@"objcap: created (\d+) of 500, (all created|then -4 \(VK_ERROR_DEVICE_LOST\))");
    private static readonly Regex Waited = new(@"objcap: vkDeviceWaitIdle -> (-?\d+) \((\w+)\) after (\d+) ms");

    [Theory]
    [InlineData("thread")]
    [InlineData("process")]
    public void ACreationTheHostRefusesIsReportedAtTheNextCallThatCanReportIt(string isolation)
    {
        using RunningHost host = fx.StartHost(HostKind.VenusHost, "--isolation", isolation, "--max-objects", "100");

        DriverRun over = fx.RunThroughIcd(host, $"{fx.Clients.Executable("objcap")} 500", TimeSpan.FromSeconds(60));
        output.WriteLine($"past the cap: {over}");
        Assert.True(over.Run.Succeeded, $"objcap 500 failed:\n{over}");
        Match created = Created.Match(over.Run.Stdout);
        Assert.True(created.Success, $"no creation line of the expected form:\n{over}");
        Assert.True(int.Parse(created.Groups[1].Value, CultureInfo.InvariantCulture) < 500 || created.Groups[2].Value == "all created");
        Match waited = Waited.Match(over.Run.Stdout);
        Assert.True(waited.Success, $"no vkDeviceWaitIdle line:\n{over}");
        Assert.Equal("VK_ERROR_DEVICE_LOST", waited.Groups[2].Value);
        Assert.True(int.Parse(waited.Groups[3].Value, CultureInfo.InvariantCulture) <= 1000, $"the loss took more than a second to reach the app:\n{over}");
        Assert.Contains("objcap: teardown ok", over.Run.Stdout);
        Assert.True(over.HostAliveAfter, $"the host died:\n{over}");
        Assert.Contains("object cap reached", host.ReadLog());

        DriverRun under = fx.RunThroughIcd(host, $"{fx.Clients.Executable("objcap")} 50", TimeSpan.FromSeconds(60));
        output.WriteLine($"under the cap: {under}");
        Assert.True(under.Run.Succeeded, $"objcap 50 failed:\n{under}");
        Assert.Contains("objcap: created 50 of 50, all created", under.Run.Stdout);
        Assert.Contains("objcap: vkDeviceWaitIdle -> 0 (VK_SUCCESS)", under.Run.Stdout);
        Assert.Contains("objcap: teardown ok", under.Run.Stdout);
        Assert.True(under.HostAliveAfter, $"the host died:\n{under}");
    }
}
