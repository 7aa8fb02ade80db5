using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// Nothing escapes the ICD: with no host to connect to, an application gets a failing VkResult and
/// a "venus:" line saying why, never a crash (an unhandled .NET exception in a NativeAOT library
/// aborts the process: exit 134). And the library exports what the Vulkan loader looks up.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class CleanFailureTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static readonly string[] LoaderExports =
        ["vk_icdNegotiateLoaderICDInterfaceVersion", "vk_icdGetInstanceProcAddr", "vk_icdGetPhysicalDeviceProcAddr"];

    private static string MissingSocket() => $"/tmp/{IcdFixture.SocketPrefix}-missing-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}.sock";

    private void NoCrashNoHang(string what, RunResult run)
    {
        output.WriteLine($"{what}: {run.Outcome}, {Outcome.Ms(run.Wall)}");
        Assert.False(run.TimedOut, $"{what} hung (killed after {Limit.TotalSeconds:0} s):\n{run}");
        Assert.True(run.Signal is null, $"{what} died of {run.Signal} (exit {run.ExitCode}):\n{run}");
        Assert.True(run.ExitCode is >= 0 and < 128, $"{what}: exit {run.ExitCode}:\n{run}");
    }

    [Fact]
    public void MissingSocketWithMesaVenusControl()
    {
        string socket = MissingSocket();
        var env = IcdFixture.MesaEnvironment(socket);
        RunResult run = fx.RunInChroot("vulkaninfo --summary", env, Limit);
        output.WriteLine(run.ToString());
        NoCrashNoHang("vulkaninfo through Mesa's venus with no server", run);
        Assert.False(File.Exists(fx.PeersRoot + socket));
    }

    [Theory]
    [InlineData("vulkaninfo --summary")]
    [InlineData("vulkaninfo")]
    public void MissingSocketFailsCleanlyWithAReason(string command)
    {
        IcdInstall icd = fx.Icd;
        output.WriteLine(icd.InstallOutput);
        string socket = MissingSocket();
        Assert.False(File.Exists(fx.PeersRoot + socket));
        var env = fx.IcdEnvironment(socket);
        env["VENUS_DEBUG"] = "init,result";
        RunResult run = fx.RunInChroot(command, env, Limit);
        output.WriteLine(run.ToString());
        NoCrashNoHang($"{command} through our ICD with no server", run);

        var venusLines = run.Stderr.Split('\n').Where(l => l.StartsWith("venus:", StringComparison.Ordinal)).ToList();
        output.WriteLine($"{venusLines.Count} 'venus:' lines");
        Assert.True(venusLines.Count > 0, $"the ICD wrote no 'venus:' line on stderr:\n{run}");
        Assert.True(venusLines.Any(l => l.Contains(socket, StringComparison.Ordinal) ||
                                        Regex.IsMatch(l, "connect|socket", RegexOptions.IgnoreCase)),
            $"no 'venus:' line names the socket or the failed connection:\n{string.Join('\n', venusLines)}");
    }

    /// <summary>dlopen + dlsym from a C program in the chroot (tests/clients/icdsyms.c): the loader's own view.</summary>
    [Fact]
    public void LibraryExportsTheLoaderEntryPoints()
    {
        IcdInstall icd = fx.Icd;
        output.WriteLine($"{icd.InstallOutput}; library {icd.LibraryPath}");
        RunResult run = fx.RunInChroot($"{fx.Clients.Executable("icdsyms")} '{icd.LibraryPath}'", IcdFixture.BaseEnvironment(), Limit);
        output.WriteLine(run.ToString());
        Assert.False(run.TimedOut, run.ToString());
        Assert.True(run.Signal is null, $"dlopen/dlsym of our ICD died of {run.Signal}:\n{run}");
        foreach (string name in LoaderExports)
            Assert.True(Regex.IsMatch(run.Stdout, $"^found {name}$", RegexOptions.Multiline), $"{name} is not exported:\n{run}");
        Assert.True(run.Succeeded, $"icdsyms failed (2 dlopen, 4 missing export, 5 negotiation failed):\n{run}");
        Assert.Contains("all found", run.Stdout);

        // nm -D, as a second view, where binutils is in the chroot.
        RunResult nm = fx.RunInChroot($"command -v nm >/dev/null || {{ echo 'no nm in the chroot'; exit 0; }}; " +
                                      $"nm -D --defined-only '{ResolveForShell(icd.LibraryPath)}'", IcdFixture.BaseEnvironment(), Limit);
        if (nm.Stdout.Contains("no nm in the chroot"))
        {
            output.WriteLine("nm is not in the chroot; the dlopen/dlsym check above is the check");
            return;
        }
        Assert.True(nm.Succeeded, nm.ToString());
        foreach (string name in LoaderExports)
            Assert.True(Regex.IsMatch(nm.Stdout, $@"\sT {name}(@@?\S+)?\s*$", RegexOptions.Multiline),
                $"nm -D --defined-only does not list {name} as a defined function:\n{RunResult.Tail(nm.Stdout, 40)}");
        output.WriteLine(string.Join('\n', nm.Stdout.Split('\n').Where(l => l.Contains(" vk_icd", StringComparison.Ordinal))));
    }

    /// <summary>The same check passes on Mesa's venus ICD (control) and fails on a library without the exports (decoy).</summary>
    [Fact]
    public void ExportCheckControlAndDecoy()
    {
        RunResult mesa = fx.RunInChroot($"{fx.Clients.Executable("icdsyms")} libvulkan_virtio.so", IcdFixture.BaseEnvironment(), Limit);
        output.WriteLine(mesa.ToString());
        Assert.True(mesa.Succeeded, mesa.ToString());
        Assert.Contains("all found", mesa.Stdout);

        RunResult libc = fx.RunInChroot($"{fx.Clients.Executable("icdsyms")} libc.so.6", IcdFixture.BaseEnvironment(), Limit);
        output.WriteLine(libc.ToString());
        Assert.Equal(4, libc.ExitCode);
        Assert.Contains("missing vk_icdGetInstanceProcAddr", libc.Stdout);
    }

    /// <summary>nm needs a file: a bare library name (dlopen's search) is looked up in the usual folders.</summary>
    private static string ResolveForShell(string libraryPath) =>
        libraryPath.StartsWith('/') ? libraryPath : "/usr/lib/x86_64-linux-gnu/" + libraryPath;
}
