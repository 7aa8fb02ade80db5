using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// The Debian package of eng/package.sh, installed into a fresh trixie (debootstrap minbase, made
/// once per machine; a throwaway overlay per check) by tests/package/check-deb.sh: apt-get install
/// of the .deb, which must bring its declared dependencies (libvulkan1 is not there before), venus-host started with the installed unit's
/// ExecStart and options (no systemctl), vulkaninfo and venus doctor finding our device through the
/// installed manifest alone (no VK_DRIVER_FILES), then dpkg -r / dpkg -P leaving nothing behind.
/// The packaged NativeAOT executables also keep the command-line conventions: --help and --version
/// (with the protocol versions) on stdout with exit 0; a bad flag, command or file is one line on
/// stderr and a non-zero exit.
/// </summary>
public sealed class PackageTests(ITestOutputHelper output)
{
    private static readonly string Root = PeersEnvironment.FindRepoRoot();
    // One build of the package for both tests (eng/package.sh publishes all three binaries).
    private static readonly Lazy<RunResult> Build = new(() =>
        ProcessRun.Run("bash", [Path.Combine(Root, "eng/package.sh"), Path.Combine(Root, "artifacts/deb-test")], TimeSpan.FromMinutes(20)));

    private string BuiltDeb()
    {
        output.WriteLine(Build.Value.ToString());
        Assert.True(Build.Value.Succeeded, "eng/package.sh failed: " + Build.Value);
        return Build.Value.Stdout.Trim();
    }

    private RunResult Exe(string exe, params string[] args)
    {
        RunResult run = ProcessRun.Run(exe, args, TimeSpan.FromSeconds(30));
        output.WriteLine(run.ToString());
        return run;
    }

    [Fact]
    public void CommandLinesHaveHelpVersionAndOneLineErrors()
    {
        BuiltDeb();
        string venus = Path.Combine(Root, "artifacts/cli/venus"), host = Path.Combine(Root, "artifacts/host/venus-host");
        foreach ((string exe, string name) in new[] { (venus, "venus"), (host, "venus-host") })
        {
            RunResult version = Exe(exe, "--version");
            Assert.True(version.Succeeded, version.ToString());
            string[] lines = version.Stdout.TrimEnd().Split('\n');
            Assert.Matches($@"^{name} \d+\.\d+\.\d+$", lines[0]);
            Assert.Equal("protocol: wire format 1, vk.xml 1.4.309, VK_EXT_command_serialization spec 1, VK_MESA_venus_protocol spec 4, " +
                         $"{Venus.Protocol.VenusProtocolInfo.Extensions.Length} extensions, {Venus.Protocol.VenusProtocolInfo.CommandTypeCount} command types", lines[1]);
            RunResult help = Exe(exe, "--help");
            Assert.True(help.Succeeded, help.ToString());
            Assert.StartsWith($"usage: {name} ", help.Stdout);
            Assert.Equal("", help.Stderr);
        }

        string missing = $"/nonexistent/{Guid.NewGuid():N}.venus";
        foreach ((string exe, string[] args, int exit, string message) in new (string, string[], int, string)[]
                 {
                     (venus, [], 2, "venus: no command given"),
                     (venus, ["frobnicate"], 2, "venus: unknown command 'frobnicate'"),
                     (venus, ["probe", "--frobnicate"], 2, "venus: probe: unknown option '--frobnicate'"),
                     (venus, ["probe", "--socket"], 2, "venus: probe: --socket needs a path"),
                     (venus, ["doctor", "--json", "--frobnicate"], 2, "venus: doctor: unknown option '--frobnicate'"),
                     (venus, ["dump"], 2, "venus: dump: no file given"),
                     (venus, ["dump", missing], 1, $"venus dump: {missing}: no such file"),
                     (venus, ["dump", "/etc/hostname"], 1, "venus dump: /etc/hostname: "),
                     (venus, ["replay", missing], 1, $"venus replay: {missing}: no such file"),
                     (host, [], 2, "venus-host: no command given"),
                     (host, ["frobnicate"], 2, "venus-host: unknown command 'frobnicate'"),
                     (host, ["serve"], 2, "venus-host: serve needs --socket-path PATH"),
                     (host, ["serve", "--socket-path"], 2, "venus-host: --socket-path needs a value"),
                     (host, ["serve", "--socket-path", "/tmp/x.sock", "--frobnicate"], 2, "venus-host: unknown option '--frobnicate'"),
                     (host, ["serve", "--socket-path", "/tmp/x.sock", "--isolation", "fork"], 2, "venus-host: --isolation is process or thread, not 'fork'"),
                     (host, ["serve", "--socket-path", "/tmp/x.sock", "--driver", missing], 2, $"venus-host: driver manifest not found: {missing}"),
                     (host, ["render-server", "--socket-fd", "x"], 2, "venus-host: --socket-fd needs a number, not 'x'"),
                 })
        {
            RunResult run = Exe(exe, args);
            Assert.Equal(exit, run.ExitCode);
            Assert.Equal("", run.Stdout);
            Assert.StartsWith(message, Assert.Single(run.Stderr.TrimEnd('\n').Split('\n')));
        }
    }

    [Fact]
    public void DebInstallsRunsAndRemovesCleanly()
    {
        string deb = BuiltDeb();
        Assert.Matches(@"/venus_\d+\.\d+\.\d+_amd64\.deb$", deb);

        RunResult contents = ProcessRun.Run("dpkg-deb", ["--contents", deb], TimeSpan.FromSeconds(30));
        Assert.True(contents.Succeeded, contents.ToString());
        foreach (string path in new[] { "./usr/bin/venus-host", "./usr/bin/venus", "./usr/lib/x86_64-linux-gnu/venus/libvenus_icd.so",
                     "./usr/share/vulkan/icd.d/venus_icd.x86_64.json", "./usr/lib/systemd/system/venus-host.service",
                     "./etc/default/venus-host", "./usr/share/man/man1/venus.1.gz", "./usr/share/man/man1/venus-host.1.gz" })
            Assert.Contains(" " + path + "\n", contents.Stdout.Replace(" -> ", "\n"));
        RunResult depends = ProcessRun.Run("dpkg-deb", ["--field", deb, "Depends"], TimeSpan.FromSeconds(30));
        Assert.Contains("libvulkan1", depends.Stdout);

        RunResult check = ProcessRun.Run("bash", [Path.Combine(Root, "tests/package/check-deb.sh"), deb], TimeSpan.FromMinutes(10));
        output.WriteLine(check.ToString());
        Assert.True(check.Succeeded, check.ToString());
        foreach (string line in new[]
                 {
                     "ok   apt-get install venus_", "libvulkan1 ", "ok   manifest /usr/share/vulkan/icd.d/venus_icd.x86_64.json -> /usr/lib/x86_64-linux-gnu/venus/libvenus_icd.so",
                     "ok   venus-host started from the unit's ExecStart", "ok   vulkaninfo lists our device through the installed manifest",
                     "ok   venus doctor exits 0", "ok   dpkg -r removed every file but the conffile /etc/default/venus-host",
                     "ok   dpkg -P removed /etc/default/venus-host",
                 })
            Assert.Contains(line, check.Stdout);
        Assert.Matches(@"deviceName\s*= Virtio-GPU Venus\.NET \(llvmpipe", check.Stdout);
        Assert.Contains("verdict: an application here gets our Venus device", check.Stdout);
    }
}
