using System.Text;
using System.Text.Json;

namespace Venus.Cli.Doctor;

/// <summary>The doctor's report as text (one line per finding, its fix indented below) or as JSON.</summary>
public static class DoctorOutput
{
    public static void WriteText(TextWriter w, DoctorReport report)
    {
        w.WriteLine($"venus doctor ({report.Mode})");
        foreach (Finding f in report.Findings)
        {
            string tag = f.Severity switch
            {
                Severity.Ok => "ok  ",
                Severity.Info => "info",
                Severity.Warn => "WARN",
                _ => "FAIL",
            };
            w.WriteLine($"  {tag}  {f.Topic,-10}  {f.Message}");
            if (f.Fix is not null)
                w.WriteLine($"        {"",-10}  → {f.Fix}");
        }
        w.WriteLine(report.Healthy
            ? (report.Mode == "host" ? "verdict: this host can serve Venus guests" : "verdict: an application here gets our Venus device")
            : (report.Mode == "host" ? "verdict: this host cannot serve Venus guests (see FAIL above)" : "verdict: an application here does NOT get our Venus device (see FAIL above)"));
    }

    public static void WriteJson(TextWriter w, DoctorReport report)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("mode", report.Mode);
            json.WriteBoolean("healthy", report.Healthy);
            json.WriteStartArray("findings");
            foreach (Finding f in report.Findings)
            {
                json.WriteStartObject();
                json.WriteString("severity", f.Severity.ToString().ToLowerInvariant());
                json.WriteString("topic", f.Topic);
                json.WriteString("message", f.Message);
                if (f.Fix is not null)
                    json.WriteString("fix", f.Fix);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WritePropertyName("facts");
            WriteValue(json, report.Facts);
            json.WriteEndObject();
        }
        w.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null: json.WriteNullValue(); break;
            case string s: json.WriteStringValue(s); break;
            case bool b: json.WriteBooleanValue(b); break;
            case int i: json.WriteNumberValue(i); break;
            case uint u: json.WriteNumberValue(u); break;
            case long l: json.WriteNumberValue(l); break;
            case ulong ul: json.WriteNumberValue(ul); break;
            case SortedDictionary<string, object?> map:
                json.WriteStartObject();
                foreach ((string k, object? v) in map)
                {
                    json.WritePropertyName(k);
                    WriteValue(json, v);
                }
                json.WriteEndObject();
                break;
            case List<object?> list:
                json.WriteStartArray();
                foreach (object? item in list)
                    WriteValue(json, item);
                json.WriteEndArray();
                break;
            default: json.WriteStringValue(value.ToString()); break;
        }
    }
}
