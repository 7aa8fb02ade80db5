using System.Collections.Concurrent;
using System.Reflection;
using Scriban;
using Scriban.Runtime;

namespace Venus.Codegen.Emit;

/// <summary>
/// The skeletons of the generated files — file headers and prologs, command shells, the ICD's and
/// the host dispatcher's file layout — are Scriban templates (Templates/*.sbn, embedded in this
/// assembly); the field-by-field decisions stay in C# (the per-field plan, <see cref="FieldPlan"/>)
/// and arrive in the templates as finished text. Model members keep their C# names in templates.
/// </summary>
public static class Templates
{
    static readonly ConcurrentDictionary<string, Template> Parsed = new(StringComparer.Ordinal);

    /// <summary>The parsed template <paramref name="name"/> (e.g. "header.sbn"); a syntax error fails the generator.</summary>
    public static Template Get(string name) => Parsed.GetOrAdd(name, static n =>
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream(n)
            ?? throw new InvalidOperationException($"template {n} is not embedded in Venus.Codegen");
        using var r = new StreamReader(s);
        return Parse(r.ReadToEnd(), n);
    });

    /// <summary>Parses template text (tests render their own).</summary>
    public static Template Parse(string text, string name)
    {
        var t = Template.Parse(text, name);
        if (t.HasErrors) throw new InvalidDataException($"template {name}: {string.Join("; ", t.Messages)}");
        return t;
    }

    /// <summary>Renders <paramref name="name"/> over <paramref name="model"/> (an object whose properties the template reads).</summary>
    public static string Render(string name, object model) => Render(Get(name), model);

    public static string Render(Template t, object model)
    {
        var globals = new ScriptObject();
        globals.Import(model, renamer: KeepName);
        var ctx = new TemplateContext { MemberRenamer = KeepName, StrictVariables = true, LoopLimit = 0 };
        ctx.PushGlobal(globals);
        return t.Render(ctx);
    }

    static string KeepName(MemberInfo m) => m.Name;
}
