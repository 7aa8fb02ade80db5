namespace Venus.Apps.Tests;

/// <summary>
/// The comparison rules of <see cref="AppComparison"/> and the output parsers on recorded output (no
/// chroot): the app tests can only fail where these say so, so each way to be wrong is tried here.
/// </summary>
public sealed class ComparisonRulesTests
{
    private static readonly AppCase Rgba = FfmpegTests.Cases.Single(c => c.Name == "rgba round trip");

    // Native lavapipe's rgba round trip, and what venus-host gave while issue 17 was open.
    private static readonly string[] Native =
    [
        "0,          0,          0,        1,   307200, 832d54b66c0bed5dbc06632b71b9675f",
        "0,          1,          1,        1,   307200, 138a9f29036f68c7eeb3238a34fa0296",
        "0,          2,          2,        1,   307200, da2cac101acf4e1d663bd64a2df73c83",
    ];

    private static readonly string[] AllZero =
    [
        "0,          0,          0,        1,   307200, 90aeded9922cf8946ea7858635493724",
        "0,          1,          1,        1,   307200, 90aeded9922cf8946ea7858635493724",
        "0,          2,          2,        1,   307200, 90aeded9922cf8946ea7858635493724",
    ];

    private static RunResult Run(int exitCode, IEnumerable<string> stdoutLines, string stderr = "", bool timedOut = false) =>
        new("ffmpeg ...", timedOut ? RunResult.KilledByTimeout : exitCode,
            "#format: frame checksums\n#hash: MD5\n" + string.Join('\n', stdoutLines) + "\n", stderr,
            TimeSpan.FromSeconds(1), timedOut, TimeSpan.FromSeconds(120));

    private static AppComparison.Verdict Judge(GuestPath path, RunResult run) =>
        AppComparison.Judge(Rgba, path, Rgba.Output.Extract(string.Join('\n', Native)), run);

    private const string Refusal = AppComparison.VirglMapRefusal + " 0x1000000000000009 (28384 bytes) as a blob: ...\n";

    [Fact]
    public void FrameHashesParseAndTheControlMustVary()
    {
        var lines = new FrameMd5Lines(3);
        Assert.Equal(Native, lines.Extract(string.Join('\n', ["#tb 0: 1/30", .. Native])));
        Assert.Null(lines.NativeProblem(Native));
        Assert.Contains("all zero", lines.NativeProblem([Native[0], Native[1], AllZero[2]]));
        Assert.All(AllZero, l => Assert.True(lines.IsZero(l)));
        Assert.Contains("same hash", lines.NativeProblem([Native[0], Native[0].Replace("0,          0,", "0,          1,"), Native[0]]));
        Assert.Contains("2 frames", lines.NativeProblem(Native[..2]));
    }

    [Fact]
    public void ChecksumsParseAndAZeroBufferIsRecognised()
    {
        var lines = new ChecksumSinkLines(3, 4);
        string zero = "0:00:00.066666666 " + Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(new byte[4]));
        string[] got = ["0:00:00.000000000 61f52620c0bf3c4e32e21dd6702b4bbb99ce2631", "0:00:00.033333333 26c874849acbed4f5ae86c443e6179163c65c772", zero];
        Assert.Equal(got, lines.Extract("Setting pipeline to PAUSED ...\n" + string.Join('\n', got)));
        Assert.Contains("all zero", lines.NativeProblem(got));
        Assert.Null(lines.NativeProblem(got[..2].Append("0:00:00.066666666 ffdfa99e5b952ea3156ce6a44338b3a69f76d94c").ToList()));
    }

    [Fact]
    public void BackendOpsResultsParseWithoutColoursAndNeedAPassingControl()
    {
        string stdout = """
            Backend 1/2: Vulkan0
              Device description: llvmpipe (LLVM 19.1.7, 256 bits)
              ADD(type=f32,ne=[10,5,4,3],nr=[2,1,1,1],nf=1,perm1=0,src_overlap=0): [1;32mOK[0m
              ADD(type=bf16,ne=[10,5,4,3],nr=[2,1,1,1],nf=2,perm1=0,src_overlap=0): not supported [Vulkan0, Vulkan0]
              1/1 tests passed
              Backend Vulkan0: [1;32mOK[0m
            """.Replace("[1;32m", "\u001b[1;32m").Replace("[0m", "\u001b[0m"); // test-backend-ops colours its verdicts
        var lines = new BackendOpsLines();
        IReadOnlyList<string> got = lines.Extract(stdout);
        Assert.Equal(
        [
            "ADD(type=f32,ne=[10,5,4,3],nr=[2,1,1,1],nf=1,perm1=0,src_overlap=0): OK",
            "ADD(type=bf16,ne=[10,5,4,3],nr=[2,1,1,1],nf=2,perm1=0,src_overlap=0): not supported [Vulkan0, Vulkan0]",
            "1/1 tests passed",
        ], got);
        Assert.Null(lines.NativeProblem(got));
        Assert.Contains("matches nothing", lines.NativeProblem(["0/0 tests passed"]));
        Assert.Contains("only 0/1", lines.NativeProblem(["ADD(type=f32): FAIL", "0/1 tests passed"]));
    }

    [Theory]
    [InlineData(GuestPath.OursOnVenusHost)]
    [InlineData(GuestPath.OursOnVirglRenderer)]
    [InlineData(GuestPath.MesaOnVenusHost)]
    public void NativeOutputPassesAndAllZeroFramesFailOnEveryPath(GuestPath path)
    {
        Assert.True(Judge(path, Run(0, Native)).Passed);
        AppComparison.Verdict zero = Judge(path, Run(0, AllZero));
        Assert.False(zero.Passed);
        Assert.Equal("DIFFERS 0/3, all zero", zero.Cell);
        Assert.False(Judge(path, Run(0, Native[..2])).Passed);
        Assert.False(Judge(path, Run(0, Native, timedOut: true)).Passed);
    }

    [Theory]
    [InlineData(GuestPath.OursOnVenusHost)]
    [InlineData(GuestPath.MesaOnVenusHost)]
    public void OnVenusHostAnyFailureFails(GuestPath path)
    {
        Assert.False(Judge(path, Run(187, [], Refusal)).Passed);
        Assert.False(Judge(path, Run(1, Native)).Passed);
    }

    [Fact]
    public void OnVirglRendererOnlyTheKnownExportFailureIsClean()
    {
        GuestPath virgl = GuestPath.OursOnVirglRenderer;
        Assert.Equal("clean error", Judge(virgl, Run(187, [], Refusal)).Cell);
        Assert.True(Judge(virgl, Run(134, [], Refusal)).Passed); // the app's own abort on VK_ERROR_DEVICE_LOST
        Assert.True(Judge(virgl, Run(1, Native[..1], Refusal)).Passed); // stopped after a right frame
        Assert.Equal("CRASHED SIGSEGV", Judge(virgl, Run(139, [], Refusal)).Cell);
        Assert.False(Judge(virgl, Run(1, [], "some other error\n")).Passed);
        Assert.Equal("DIFFERS 0/1", Judge(virgl, Run(1, AllZero[..1], Refusal)).Cell);
        Assert.False(Judge(virgl, Run(1, [], Refusal, timedOut: true)).Passed);
    }
}
