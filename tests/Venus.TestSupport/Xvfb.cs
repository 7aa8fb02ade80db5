using System.Diagnostics;
using System.Globalization;

namespace Venus.TestSupport;

/// <summary>
/// An Xvfb X server inside the peers chroot on a display it picked itself (<c>-displayfd</c>: the
/// first free number, so parallel runs and other users' servers never collide), for apps that
/// present to a window (vkcube, vkmark --winsys xcb, glxgears). <see cref="Environment"/> is what
/// an X client in the chroot needs; <see cref="Screenshot"/> grabs the root window. Dispose stops it.
/// Needs xvfb, x11-apps (xwd) and imagemagick (convert) in the chroot (eng/peers.sh installs them).
/// </summary>
public sealed class XvfbServer : IDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly string _peersRoot;
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly string _logPath;

    private XvfbServer(string peersRoot, Process process, int display, StreamWriter log, string logPath, int width, int height)
    {
        _log = log;
        _peersRoot = peersRoot;
        _process = process;
        Display = display;
        _logPath = logPath;
        Width = width;
        Height = height;
    }

    /// <summary>The display number (DISPLAY=:N).</summary>
    public int Display { get; }

    public int Width { get; }
    public int Height { get; }
    public int Pid => _process.Id;

    /// <summary>DISPLAY for X clients in the chroot; add it to a run's environment.</summary>
    public IReadOnlyDictionary<string, string> Environment =>
        new Dictionary<string, string> { ["DISPLAY"] = ":" + Display.ToString(CultureInfo.InvariantCulture) };

    /// <summary>
    /// Starts <c>Xvfb -displayfd 1 -screen 0 WxHxDEPTH -nolisten tcp</c> in the chroot and waits until it
    /// has written its display number. Throws with Xvfb's own output when it does not start.
    /// </summary>
    public static XvfbServer Start(string peersRoot, int width = 1024, int height = 768, int depth = 24,
        IEnumerable<string>? extraArguments = null)
    {
        if (!File.Exists(Path.Combine(peersRoot, "usr/bin/Xvfb")))
            throw new InvalidOperationException($"no /usr/bin/Xvfb in the chroot {peersRoot}: run `bash eng/peers.sh ensure`");
        string logPath = Path.Combine(Path.GetTempPath(), $"venus-xvfb-{System.Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}.log");
        var startInfo = new ProcessStartInfo("chroot")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in (string[])[peersRoot, "env", "-i", "PATH=/usr/bin:/bin", "HOME=/tmp",
                     "Xvfb", "-displayfd", "1", "-screen", "0", $"{width}x{height}x{depth}", "-nolisten", "tcp", "-noreset"])
            startInfo.ArgumentList.Add(a);
        foreach (string a in extraArguments ?? [])
            startInfo.ArgumentList.Add(a);

        var process = new Process { StartInfo = startInfo };
        var log = new StreamWriter(logPath) { AutoFlush = true };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (log)
            {
                try { log.WriteLine(e.Data); } catch (ObjectDisposedException) { }
            }
        };
        // -displayfd writes the number and a newline once the server accepts connections; stdout is
        // drained for the server's whole life so it never blocks on a full pipe.
        var firstLine = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) => firstLine.TrySetResult(e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();

        bool ready = firstLine.Task.Wait(StartTimeout);
        string? text = ready ? firstLine.Task.Result : null;
        if (text is null || !int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int display))
        {
            bool exited = process.HasExited;
            if (!exited)
                ProcessTree.Stop(process.Id, TimeSpan.FromSeconds(3));
            process.WaitForExit(3000);
            string output;
            lock (log)
            {
                log.Dispose();
                output = File.Exists(logPath) ? RunResult.Tail(File.ReadAllText(logPath), 30) : "";
            }
            process.Dispose();
            try { File.Delete(logPath); } catch (IOException) { }
            throw new InvalidOperationException(
                $"Xvfb in {peersRoot} did not report a display within {StartTimeout.TotalSeconds:0} s " +
                $"({(exited ? "it exited" : "killed")}, stdout '{text}')\n--- Xvfb stderr ---\n{output}");
        }
        return new XvfbServer(peersRoot, process, display, log, logPath, width, height);
    }

    public bool IsAlive => !_process.HasExited;

    public string LogTail(int lines = 30)
    {
        try
        {
            using var stream = new FileStream(_logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return RunResult.Tail(new StreamReader(stream).ReadToEnd(), lines);
        }
        catch (IOException e)
        {
            return $"(no Xvfb log: {e.Message})";
        }
    }

    /// <summary>
    /// The root window now (<c>xwd -root -silent | convert xwd:- ...</c> in the chroot): its RGB pixels,
    /// and, when <paramref name="pngPath"/> is given (a path outside the chroot), a PNG of it there.
    /// </summary>
    public Screenshot Screenshot(string? pngPath = null)
    {
        string tmpName = $"/tmp/venus-shot-{System.Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
        string display = ":" + Display.ToString(CultureInfo.InvariantCulture);
        // One xwd; convert writes the raw RGB and, when asked, the PNG from the same picture.
        string png = pngPath is null ? "" : $" -write png:{tmpName}.png";
        string script = $"xwd -root -silent -display {display} > {tmpName}.xwd && " +
                        $"convert xwd:{tmpName}.xwd{png} -depth 8 rgb:{tmpName}.rgb && rm -f {tmpName}.xwd";
        RunResult run = ProcessRun.Run("chroot", [_peersRoot, "env", "-i", "PATH=/usr/bin:/bin", "HOME=/tmp", "sh", "-c", script],
            TimeSpan.FromSeconds(60));
        string rgbPath = _peersRoot + tmpName + ".rgb";
        try
        {
            if (!run.Succeeded || !File.Exists(rgbPath))
                throw new InvalidOperationException($"screenshot of Xvfb {display} failed (needs x11-apps and imagemagick in the chroot): {run}");
            byte[] rgb = File.ReadAllBytes(rgbPath);
            if (rgb.Length != Width * Height * 3)
                throw new InvalidOperationException($"screenshot of Xvfb {display}: {rgb.Length} bytes of RGB, expected {Width}x{Height}x3");
            if (pngPath is not null)
                File.Copy(_peersRoot + tmpName + ".png", pngPath, overwrite: true);
            return new Screenshot(Width, Height, rgb);
        }
        finally
        {
            foreach (string ext in (string[])[".rgb", ".png", ".xwd"])
                try { File.Delete(_peersRoot + tmpName + ext); } catch (IOException) { }
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
                ProcessTree.Stop(_process.Id, TimeSpan.FromSeconds(3));
            _process.WaitForExit(3000);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        lock (_log)
            _log.Dispose();
        try { File.Delete(_logPath); } catch (IOException) { }
    }
}

/// <summary>An RGB picture (8 bits per channel, rows top to bottom) and simple statistics over a rectangle of it.</summary>
public sealed record Screenshot(int Width, int Height, byte[] Rgb)
{
    public (byte R, byte G, byte B) Pixel(int x, int y)
    {
        int i = (y * Width + x) * 3;
        return (Rgb[i], Rgb[i + 1], Rgb[i + 2]);
    }

    /// <summary>Statistics of the rectangle (x, y, w, h), clipped to the picture; the whole picture by default.</summary>
    public PixelStats Stats(int x = 0, int y = 0, int w = int.MaxValue, int h = int.MaxValue) =>
        Stats(x, y, w, h, reference: null, tolerance: 0);

    /// <summary>
    /// Statistics of the rectangle, counting as "like the reference" every pixel whose channels are each
    /// within <paramref name="tolerance"/> of <paramref name="reference"/> (e.g. a clear colour).
    /// </summary>
    public PixelStats Stats(int x, int y, int w, int h, (byte R, byte G, byte B)? reference, int tolerance)
    {
        int x0 = Math.Clamp(x, 0, Width), y0 = Math.Clamp(y, 0, Height);
        int x1 = (int)Math.Clamp((long)x + w, x0, Width), y1 = (int)Math.Clamp((long)y + h, y0, Height);
        long count = 0, black = 0, likeReference = 0, sumR = 0, sumG = 0, sumB = 0;
        var distinct = new HashSet<int>();
        for (int row = y0; row < y1; row++)
        {
            for (int col = x0; col < x1; col++)
            {
                int i = (row * Width + col) * 3;
                byte r = Rgb[i], g = Rgb[i + 1], b = Rgb[i + 2];
                count++;
                sumR += r; sumG += g; sumB += b;
                if (r == 0 && g == 0 && b == 0)
                    black++;
                if (reference is { } c && Math.Abs(r - c.R) <= tolerance && Math.Abs(g - c.G) <= tolerance && Math.Abs(b - c.B) <= tolerance)
                    likeReference++;
                if (distinct.Count < 65536)
                    distinct.Add(r << 16 | g << 8 | b);
            }
        }
        return new PixelStats(count, black, likeReference, distinct.Count,
            count == 0 ? 0 : sumR / (double)count, count == 0 ? 0 : sumG / (double)count, count == 0 ? 0 : sumB / (double)count);
    }

    /// <summary>
    /// The fraction of pixels of the rectangle whose channels differ by more than <paramref name="tolerance"/>
    /// between this picture and <paramref name="other"/> (same size required).
    /// </summary>
    public double DifferentFraction(Screenshot other, int x, int y, int w, int h, int tolerance)
    {
        if (other.Width != Width || other.Height != Height)
            throw new ArgumentException($"pictures differ in size: {Width}x{Height} vs {other.Width}x{other.Height}");
        int x0 = Math.Clamp(x, 0, Width), y0 = Math.Clamp(y, 0, Height);
        int x1 = (int)Math.Clamp((long)x + w, x0, Width), y1 = (int)Math.Clamp((long)y + h, y0, Height);
        long count = 0, different = 0;
        for (int row = y0; row < y1; row++)
        {
            for (int col = x0; col < x1; col++)
            {
                int i = (row * Width + col) * 3;
                count++;
                if (Math.Abs(Rgb[i] - other.Rgb[i]) > tolerance || Math.Abs(Rgb[i + 1] - other.Rgb[i + 1]) > tolerance ||
                    Math.Abs(Rgb[i + 2] - other.Rgb[i + 2]) > tolerance)
                    different++;
            }
        }
        return count == 0 ? 0 : different / (double)count;
    }
}

/// <summary>Pixel counts and mean colour of a rectangle of a <see cref="Screenshot"/>.</summary>
public sealed record PixelStats(long Pixels, long Black, long LikeReference, int DistinctColours,
    double MeanR, double MeanG, double MeanB)
{
    public double BlackFraction => Pixels == 0 ? 0 : Black / (double)Pixels;
    public double LikeReferenceFraction => Pixels == 0 ? 0 : LikeReference / (double)Pixels;

    public override string ToString() =>
        $"{Pixels} pixels: {BlackFraction:P1} black, {LikeReferenceFraction:P1} like the reference colour, " +
        $"{DistinctColours} distinct colours, mean RGB ({MeanR:0.0}, {MeanG:0.0}, {MeanB:0.0})";
}
