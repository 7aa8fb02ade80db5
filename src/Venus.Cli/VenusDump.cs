using System.Text;
using Venus.Protocol;
using Venus.Protocol.Wire;

namespace Venus.Cli;

/// <summary>
/// <c>venus dump FILE</c>: reads a recording of venus-host or of our ICD (<see cref="VenusRecording"/>) and prints each command decoded, checking that it re-encodes to
/// the same bytes.
/// </summary>
public static class VenusDump
{
    public sealed record Summary(int Commands, int Undecodable, int Different);

    public static int Run(ReadOnlySpan<string> args, TextWriter stdout, TextWriter stderr)
    {
        string? file = null;
        bool check = false, json = false;
        foreach (var a in args)
        {
            if (a == "--check") check = true;
            else if (a == "--json") json = true;
            else if (a.StartsWith('-')) return VenusCli.UsageError(stderr, $"dump: unknown option '{a}'");
            else if (file == null) file = a;
            else return VenusCli.UsageError(stderr, "dump: more than one file");
        }
        if (file == null) return VenusCli.UsageError(stderr, "dump: no file given");
        if (!File.Exists(file)) { stderr.WriteLine($"venus dump: {file}: no such file"); return VenusCli.ExitFailed; }
        Summary summary;
        try
        {
            byte[] data = File.ReadAllBytes(file);
            summary = json ? DumpJson(file, data, stdout) : Dump(data, stdout);
        }
        catch (InvalidDataException e)
        {
            stderr.WriteLine($"venus dump: {file}: {e.Message}");
            return VenusCli.ExitFailed;
        }
        stderr.WriteLine($"venus dump: {summary.Commands} commands, {summary.Undecodable} undecodable, {summary.Different} re-encode differently");
        return check && (summary.Undecodable > 0 || summary.Different > 0) ? VenusCli.ExitFailed : VenusCli.ExitOk;
    }

    /// <summary>One command of a recording: where its bytes are, its text, and whether it decoded and re-encoded to the same bytes.</summary>
    public readonly record struct Command(string Stream, int Offset, int Length, string Text, bool Decoded, bool Same);

    /// <summary>
    /// Every command of every record, in order (a record may hold several: our ICD records whole
    /// submissions). A command that does not decode ends its record: the rest cannot be split.
    /// </summary>
    public static IEnumerable<Command> Commands(byte[] data)
    {
        using var arena = new VnArena();
        var text = new StringBuilder();
        foreach (VenusRecording.Record record in VenusRecording.Read(data))
        {
            int offset = record.Offset, end = record.Offset + record.Length;
            while (offset < end)
            {
                text.Clear();
                arena.Reset();
                bool ok = VenusCommandText.Describe(new ReadOnlySpan<byte>(data, offset, end - offset), text, arena, out int used, out bool same);
                if (!ok || used <= 0 || used > end - offset)
                {
                    yield return new Command(record.Stream, offset, end - offset, text.ToString(), false, false);
                    break;
                }
                yield return new Command(record.Stream, offset, used, text.ToString(), true, same);
                offset += used;
            }
        }
    }

    /// <summary>Prints every command of every record.</summary>
    public static Summary Dump(byte[] data, TextWriter output)
    {
        var counts = new Counts();
        foreach (Command c in Commands(data))
        {
            counts.Add(c);
            string note = !c.Decoded ? "  !! does not decode" : !c.Same ? "  !! re-encodes differently" : "";
            output.WriteLine($"[{c.Stream}] {c.Text}{note}");
        }
        return counts.Summary;
    }

    /// <summary>
    /// The same as JSON: an object with the file, the counts and a "commands" array of
    /// {stream, offset, length, command (its name), text, decoded, same}, written as it is read.
    /// </summary>
    public static Summary DumpJson(string file, byte[] data, TextWriter output)
    {
        var counts = new Counts();
        using var stream = new MemoryStream();
        using (var j = new System.Text.Json.Utf8JsonWriter(stream, new System.Text.Json.JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
            j.WriteString("file", file);
            j.WriteStartArray("commands");
            foreach (Command c in Commands(data))
            {
                counts.Add(c);
                j.WriteStartObject();
                j.WriteString("stream", c.Stream);
                j.WriteNumber("offset", c.Offset);
                j.WriteNumber("length", c.Length);
                int paren = c.Text.IndexOf('(');
                j.WriteString("command", c.Decoded && paren > 0 ? c.Text[..paren] : null);
                j.WriteString("text", c.Text);
                j.WriteBoolean("decoded", c.Decoded);
                j.WriteBoolean("same", c.Same);
                j.WriteEndObject();
                if (stream.Length > 1 << 20)
                    Flush(j, stream, output);
            }
            j.WriteEndArray();
            Summary summary = counts.Summary;
            j.WriteNumber("count", summary.Commands);
            j.WriteNumber("undecodable", summary.Undecodable);
            j.WriteNumber("different", summary.Different);
            j.WriteEndObject();
            Flush(j, stream, output);
        }
        output.WriteLine();
        return counts.Summary;
    }

    private static void Flush(System.Text.Json.Utf8JsonWriter j, MemoryStream stream, TextWriter output)
    {
        j.Flush();
        output.Write(Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
        stream.SetLength(0);
    }

    private sealed class Counts
    {
        private int _commands, _bad, _different;

        public void Add(Command c)
        {
            _commands++;
            if (!c.Decoded) _bad++;
            else if (!c.Same) _different++;
        }

        public Summary Summary => new(_commands, _bad, _different);
    }
}
