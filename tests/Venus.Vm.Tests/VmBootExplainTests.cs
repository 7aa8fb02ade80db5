namespace Venus.Vm.Tests;

/// <summary>The digest a failed boot's tests lead with (no VM: a made-up run and logs).</summary>
public sealed class VmBootExplainTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("venus-vm-explain-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void NamesTheStepTheGuestWasInWhatVmShSaidAndTheHostsFatalLines()
    {
        File.WriteAllText(Path.Combine(_dir, "rsvenus.log"),
            "@@venus-vm begin kernel\r\n@@venus-vm end kernel rc=0 ms=0\n@@venus-vm begin mesa-summary\nDevice Name: x\n");
        File.WriteAllText(Path.Combine(_dir, "rsvenus.host.log"),
            "[7] venus-host: render context 3 (vulkaninfo) → worker 9\n[9] venus-host: context render-3: fatal: bad id\n");
        string stderr = string.Join('\n',
            "vm.sh: booting (venus: -device a), serial log v.log",
            "vm.sh: venus: the guest ran every step and powered off in 80 s (qemu exit 0)",
            "    end kernel rc=0 ms=0",
            "vm.sh: booting (rsvenus: -device a), serial log rs.log",
            "vm.sh: rsvenus: the guest did not finish its steps (qemu exit 1 after 40 s)",
            "qemu-system-x86_64: some abort",
            "vm.sh: last lines of rs.log:",
            "    Device Name: x",
            "vm.sh: booting (rstiming: -device a), serial log rst.log");
        var run = new RunResult("bash eng/vm.sh run", 1, "", stderr, TimeSpan.FromSeconds(1), false, TimeSpan.FromMinutes(20));

        string text = VmBoot.Explain("rsvenus", run, _dir);

        Assert.Contains("the guest did not finish its steps (qemu exit 1 after 40 s) | qemu-system-x86_64: some abort", text);
        Assert.DoesNotContain("powered off in 80 s", text);
        Assert.DoesNotContain("rst.log", text);
        Assert.Contains("steps finished (1): kernel rc=0", text);
        Assert.Contains("the guest was in step 'mesa-summary' when the log ended", text);
        Assert.Contains("1 fatal/unhandled/exit lines:\n[9] venus-host: context render-3: fatal: bad id", text);
    }

    [Fact]
    public void SaysSoWhenTheBootNeverStarted()
    {
        var run = new RunResult("bash eng/vm.sh run", 1, "", "vm.sh: packing the initramfs failed", TimeSpan.FromSeconds(1), false, TimeSpan.FromMinutes(20));
        string text = VmBoot.Explain("venus", run, _dir);
        Assert.StartsWith("eng/vm.sh never booted it", text);
        Assert.Contains("no serial log at", text);
    }
}
