using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Venus.Apps.Tests;

/// <summary>
/// One application command line, run in the chroot with <c>sh -c</c>, and what of its output must equal
/// native's (<see cref="OutputLines"/>).
/// </summary>
/// <param name="App">ffmpeg, gstreamer, ggml or render.</param>
/// <param name="Name">The case as test names and eng/apps.sh show it.</param>
/// <param name="Packages">What it needs in the chroot (eng/peers.sh install PKG:PATH...).</param>
/// <param name="Command">The command line; gets the fixture for paths it builds (tests/clients).</param>
public sealed record AppCase(
    string App,
    string Name,
    IReadOnlyList<string> Packages,
    Func<AppsFixture, string> Command,
    TimeSpan Timeout,
    OutputLines Output)
{
    public override string ToString() => $"{App}: {Name}";
}

/// <summary>The lines of an application's stdout that carry its result, and what native's must look like.</summary>
public abstract class OutputLines
{
    /// <summary>What one line is ("frame", "buffer", ...), for messages.</summary>
    public abstract string Unit { get; }

    public abstract IReadOnlyList<string> Extract(string stdout);

    /// <summary>Why native's lines cannot serve as the reference (constant, empty, all zero), or null.</summary>
    public abstract string? NativeProblem(IReadOnlyList<string> lines);

    /// <summary>The short form of a line for tables ("832d54b6…").</summary>
    public virtual string Short(string line) => line;

    /// <summary>Whether the line is the hash of all-zero data (what an image that was never written reads back as).</summary>
    public virtual bool IsZero(string line) => false;
}

/// <summary>
/// ffmpeg's <c>-f framemd5</c>: <c>stream, dts, pts, duration, size, md5</c> per frame. Native must have
/// <paramref name="frames"/> frames with different hashes, none the md5 of an all-zero frame.
/// </summary>
public sealed partial class FrameMd5Lines(int frames) : OutputLines
{
    [GeneratedRegex(@"^\d+,\s*-?\d+,\s*-?\d+,\s*\d+,\s*(\d+),\s*([0-9a-f]{32})$")]
    private static partial Regex FrameLine();

    public override string Unit => "frame";

    public override IReadOnlyList<string> Extract(string stdout) =>
        stdout.Split('\n').Select(l => l.Trim()).Where(l => FrameLine().IsMatch(l)).ToList();

    public override string? NativeProblem(IReadOnlyList<string> lines)
    {
        if (lines.Count != frames)
            return $"{lines.Count} frames, expected {frames}";
        var parsed = lines.Select(l => FrameLine().Match(l)).ToList();
        if (parsed.Select(m => m.Groups[2].Value).Distinct().Count() < 2)
            return "every frame has the same hash (constant output)";
        string? zero = lines.FirstOrDefault(IsZero);
        return zero is null ? null : $"a frame is all zero bytes: {zero}";
    }

    public override bool IsZero(string line) =>
        FrameLine().Match(line) is { Success: true } m &&
        m.Groups[2].Value == Convert.ToHexStringLower(MD5.HashData(new byte[int.Parse(m.Groups[1].Value)]));

    public override string Short(string line) =>
        FrameLine().Match(line) is { Success: true } m ? m.Groups[2].Value[..8] + "…" + (IsZero(line) ? " (all zero)" : "") : line;
}

/// <summary>
/// GStreamer's <c>checksumsink</c> (SHA-1 per buffer): <c>H:MM:SS.NNNNNNNNN sha1</c>. Native must have
/// <paramref name="buffers"/> buffers with different checksums, none the SHA-1 of an all-zero buffer of
/// <paramref name="bufferSize"/> bytes.
/// </summary>
public sealed partial class ChecksumSinkLines(int buffers, int bufferSize) : OutputLines
{
    private readonly string _zero = Convert.ToHexStringLower(SHA1.HashData(new byte[bufferSize]));

    [GeneratedRegex(@"^\d+:\d\d:\d\d\.\d{9} ([0-9a-f]{40})$")]
    private static partial Regex BufferLine();

    public override string Unit => "buffer";

    public override IReadOnlyList<string> Extract(string stdout) =>
        stdout.Split('\n').Select(l => l.Trim()).Where(l => BufferLine().IsMatch(l)).ToList();

    public override string? NativeProblem(IReadOnlyList<string> lines)
    {
        if (lines.Count != buffers)
            return $"{lines.Count} buffers, expected {buffers}";
        var sums = lines.Select(l => BufferLine().Match(l).Groups[1].Value).ToList();
        if (sums.Distinct().Count() < 2)
            return "every buffer has the same checksum (constant output)";
        string? zero = lines.FirstOrDefault(IsZero);
        return zero is null ? null : $"a buffer is all zero bytes: {zero}";
    }

    public override bool IsZero(string line) =>
        BufferLine().Match(line) is { Success: true } m && m.Groups[1].Value == _zero;

    public override string Short(string line) =>
        BufferLine().Match(line) is { Success: true } m ? m.Groups[1].Value[..8] + "…" + (IsZero(line) ? " (all zero)" : "") : line;
}

/// <summary>
/// ggml's <c>test-backend-ops</c>, which checks the Vulkan backend against the CPU itself: one line per
/// test case (<c>OP(params): OK | FAIL | not supported [...]</c>, colours removed) and the count line
/// (<c>N/M tests passed</c>). Native must run at least one case and pass all of them.
/// </summary>
public sealed partial class BackendOpsLines : OutputLines
{
    [GeneratedRegex(@"\x1b\[[0-9;]*m")]
    private static partial Regex Colour();

    [GeneratedRegex(@"^([A-Z_0-9]+\(.*\)): (OK|FAIL|not supported.*)$")]
    private static partial Regex CaseLine();

    [GeneratedRegex(@"^(\d+)/(\d+) tests passed$")]
    private static partial Regex CountLine();

    public override string Unit => "line";

    public override IReadOnlyList<string> Extract(string stdout) =>
        stdout.Split('\n').Select(l => Colour().Replace(l, "").Trim())
            .Where(l => CaseLine().IsMatch(l) || CountLine().IsMatch(l)).ToList();

    public override string? NativeProblem(IReadOnlyList<string> lines)
    {
        var count = lines.Select(l => CountLine().Match(l)).Where(m => m.Success).ToList();
        if (count.Count != 1)
            return $"{count.Count} 'N/M tests passed' lines, expected 1";
        int passed = int.Parse(count[0].Groups[1].Value), total = int.Parse(count[0].Groups[2].Value);
        if (total == 0)
            return "no test case ran (0/0): the op filter matches nothing";
        if (passed != total)
            return $"natively only {passed}/{total} passed";
        int ok = lines.Count(l => CaseLine().Match(l) is { Success: true } m && m.Groups[2].Value == "OK");
        return ok == total ? null : $"{ok} OK lines for {total} tests";
    }

    public override string Short(string line) => CountLine().IsMatch(line) ? line : line.Split("): ")[^1];
}

/// <summary>tests/clients/render.c: <c>render: WxH rgba8 fnv1a64=H covered=N distinct=N</c>; native must cover part of the image in many colours.</summary>
public sealed partial class RenderHashLines : OutputLines
{
    [GeneratedRegex(@"^render: (\d+)x(\d+) rgba8 fnv1a64=([0-9a-f]{16}) covered=(\d+) distinct=(\d+)$")]
    private static partial Regex HashLine();

    public override string Unit => "image";

    public override IReadOnlyList<string> Extract(string stdout) =>
        stdout.Split('\n').Select(l => l.Trim()).Where(l => HashLine().IsMatch(l)).ToList();

    public override string? NativeProblem(IReadOnlyList<string> lines)
    {
        if (lines.Count != 1)
            return $"{lines.Count} hash lines, expected 1";
        Match m = HashLine().Match(lines[0]);
        int pixels = int.Parse(m.Groups[1].Value) * int.Parse(m.Groups[2].Value);
        int covered = int.Parse(m.Groups[4].Value), distinct = int.Parse(m.Groups[5].Value);
        if (covered < pixels / 5 || covered > pixels * 4 / 5)
            return $"{covered} of {pixels} pixels drawn on, expected between a fifth and four fifths";
        return distinct < 100 ? $"only {distinct} colours" : null;
    }

    public override string Short(string line) => HashLine().Match(line) is { Success: true } m ? m.Groups[3].Value[..8] + "…" : line;
}
