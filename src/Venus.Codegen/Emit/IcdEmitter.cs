using System.Text;
using Venus.Codegen.Model;
using Venus.Codegen.Registry;

namespace Venus.Codegen.Emit;

/// <summary>
/// The guest ICD's forwarding code (src/Venus.GuestIcd/Generated), for every command with a body:
/// <list type="bullet">
/// <item><c>Calls.vkX(ring, ...)</c>: the command with a reply, waited for and decoded into the caller's memory.</item>
/// <item><c>Sends.vkX(ring, ...)</c>: the command without a reply, not waited for; returns the ring seqno.</item>
/// <item><c>Entrypoints.vkX(...)</c>: the <c>[UnmanagedCallersOnly]</c> export the loader calls, for every
///   app-facing command not written by hand (Definitions/icd.xml). <c>vkCmd*</c> are recorded into the
///   command buffer's stream; the rest go through the ring of their dispatchable object, synchronously
///   when the reply carries anything (a return value or an output), else asynchronously. Objects the
///   command creates get guest-chosen ids first (venus-protocol.md §1.7).</item>
/// <item><c>ProcTable.AddGenerated</c>: every export under its core name and its aliases, with the scope
///   that dispatches it, the core version that has the name and the extension that provides it.</item>
/// <item><c>ExtensionCommands.All</c>: the commands of every covered device extension with the
///   <c>depends</c> of the require block that brings them, so the ICD can tell which extensions it
///   implements completely (an entry point for every command whose dependency it can meet).</item>
/// </list>
/// Nothing here allocates on the success path: the vkCmd* path is Reserve, Encode, Commit.
/// </summary>
public sealed class IcdEmitter
{
    const string Ns = "Venus.GuestIcd.Generated";
    /// <summary>The hand-written half of ProcTable lives here; a partial class must share it.</summary>
    const string ProcTableNs = "Venus.GuestIcd.Loader";
    const string ReplyFlag = "VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT";

    readonly ProtocolModel _m;
    readonly WireEmitter _wire;
    readonly DispatchEmitter _fns;
    /// <summary>Defining (core) names of the commands icd.xml lists.</summary>
    readonly HashSet<string> _handWritten = new(StringComparer.Ordinal);
    /// <summary>Defining names of the creation commands icd.xml marks async.</summary>
    readonly HashSet<string> _async = new(StringComparer.Ordinal);
    /// <summary>Defining names of the slow synchronous commands icd.xml sends through a call ring (&lt;callring&gt;).</summary>
    readonly HashSet<string> _callRing = new(StringComparer.Ordinal);
    /// <summary>vkCmd* commands whose generated export calls a hand-written hook once recorded (icd.xml &lt;hook&gt;): defining name → family.</summary>
    readonly Dictionary<string, string> _hooks = new(StringComparer.Ordinal);

    public IcdEmitter(ProtocolModel m, WireEmitter wire, DispatchEmitter fns)
    {
        _m = m;
        _wire = wire;
        _fns = fns;
        foreach (var n in m.Reg.IcdHandWritten)
        {
            var rc = m.Reg.ResolveCommand(n) ?? throw new InvalidDataException($"icd.xml: unknown command {n}");
            _handWritten.Add(rc.Name);
        }
        foreach (var n in m.Reg.IcdAsync)
        {
            var rc = m.Reg.ResolveCommand(n) ?? throw new InvalidDataException($"icd.xml: unknown command {n}");
            _async.Add(rc.Name);
        }
        foreach (var n in m.Reg.IcdCallRing)
        {
            var rc = m.Reg.ResolveCommand(n) ?? throw new InvalidDataException($"icd.xml: <callring> of unknown command {n}");
            if (!_callRing.Add(rc.Name)) throw new InvalidDataException($"icd.xml: <callring> {rc.Name} listed twice");
        }
        foreach (var (n, family) in m.Reg.IcdHooks)
        {
            var rc = m.Reg.ResolveCommand(n) ?? throw new InvalidDataException($"icd.xml: <hook> of unknown command {n}");
            if (rc.Name != n) throw new InvalidDataException($"icd.xml: <hook> {rc.Name}, not its alias {n}");
            if (_handWritten.Contains(n)) throw new InvalidDataException($"icd.xml: <hook> {n} is also <handwritten>; a hook is for a generated export");
            _hooks.Add(n, family);
        }
    }

    /// <summary>Commands with a body: Calls and Sends have them all.</summary>
    public List<CommandModel> Bodies() => _wire.WireCommands().ToList();

    /// <summary>Commands that get a generated export: app-facing (not Venus' own transport commands) and not hand-written (icd.xml).</summary>
    public List<CommandModel> Exported()
    {
        var list = new List<CommandModel>();
        foreach (var c in Bodies())
        {
            if (IsVenusTransport(c)) continue;
            if (_handWritten.Contains(c.Reg!.Name)) continue;
            var first = c.Params.FirstOrDefault();
            if (first == null || first.Shape != FieldShape.Value || first.Elem.Kind != TypeKind.Handle || !first.Elem.Dispatchable)
                throw new InvalidDataException($"{c.Name}: its first parameter is not a dispatchable handle; list it in icd.xml and write it by hand");
            var dispatchableOut = OutputHandles(c).FirstOrDefault(h => h.Type.Dispatchable);
            if (dispatchableOut.Path != null)
                throw new InvalidDataException($"{c.Name}: it returns a dispatchable handle ({dispatchableOut.Path}: {dispatchableOut.Type.VkName}); list it in icd.xml and write it by hand");
            var nested = OutputHandles(c).FirstOrDefault(h => h.Nested);
            if (nested.Path != null)
                throw new InvalidDataException($"{c.Name}: an output struct holds a handle ({nested.Path}: {nested.Type.VkName}) whose id the guest would have to choose; list it in icd.xml and write it by hand");
            if (_fns.NativeSignature(c.Reg) == null)
                throw new InvalidDataException($"{c.Name}: no native signature; list it in icd.xml and write it by hand");
            if (IsCmd(c) && (c.Return != null || c.Params.Any(p => p.IsOutput)))
                throw new InvalidDataException($"{c.Name}: a vkCmd* with a return value or an output cannot be recorded; list it in icd.xml and write it by hand");
            list.Add(c);
        }
        return list;
    }

    /// <summary>VK_EXT_command_serialization / VK_MESA_venus_protocol commands: the ICD runtime's transport, never the app's.</summary>
    bool IsVenusTransport(CommandModel c) =>
        _m.Reg.CommandOrigin.TryGetValue(c.Reg!.Name, out var origin) && origin is "VK_EXT_command_serialization" or "VK_MESA_venus_protocol";

    public SortedDictionary<string, string> Emit()
    {
        var o = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var bodies = Bodies();
        var exported = Exported();
        Chunked(o, "Calls", "internal static unsafe partial class Calls",
            "Calls: the command with a reply, waited for and decoded.", bodies.Select(EmitCall));
        Chunked(o, "Sends", "internal static unsafe partial class Sends",
            "Sends: the command without a reply, not waited for.", bodies.Select(EmitSend));
        Chunked(o, "Entrypoints", "internal static unsafe partial class Entrypoints",
            "Entrypoints: the exports the Vulkan loader calls for commands not written by hand.", exported.Select(EmitEntrypoint),
            "using System.Runtime.InteropServices;\n");
        var families = FamilyCommands();
        o["FamilyDeclarations.cs"] = EmitFamilyDeclarations(families);
        o["FamilyHooks.cs"] = EmitFamilyHooks(exported);
        o["FamilyExports.cs"] = EmitFamilyExports(families);
        o["ProcTable.cs"] = EmitProcTable(exported, families);
        o["ExtensionCommands.cs"] = EmitExtensionCommands();
        return o;
    }

    // ---- helpers ---------------------------------------------------------------------------------

    static bool IsCmd(CommandModel c) => c.Reg!.Name.StartsWith("vkCmd", StringComparison.Ordinal) && c.Params.Count > 0 && c.Params[0].Elem.VkName == "VkCommandBuffer";

    static string N(FieldModel p) => NativeEmitter.Escape(p.Name);

    /// <summary>A local name that no parameter of the command uses (vkCreateRingMESA has a parameter named ring).</summary>
    static string Local(CommandModel c, string want)
    {
        string n = want;
        while (c.Params.Any(p => p.Name == n || N(p) == n)) n += "_";
        return n;
    }

    static string Ret(CommandModel c) => c.Return == null ? "void" : c.Return.Cs;

    /// <summary>"a, b, null, d" with VkAllocationCallbacks* as null; extra appended (filter) when given.</summary>
    static string Args(CommandModel c, string? extra = null, bool allocatorNull = true)
    {
        var a = c.Params.Select(p => allocatorNull && p.Shape == FieldShape.AllocationCallbacks ? "null" : N(p)).ToList();
        if (extra != null) a.Add(extra);
        return string.Join(", ", a);
    }

    static string Lead(string s) => s.Length == 0 ? "" : ", " + s;

    /// <summary>Handles the reply writes: output handle parameters, and handles inside output structs (Nested).</summary>
    IEnumerable<(string Path, TypeRef Type, bool Nested)> OutputHandles(CommandModel c)
    {
        foreach (var p in c.Params.Where(p => p.IsOutput))
        {
            if (p.Elem.Kind == TypeKind.Handle) yield return (p.Name, p.Elem, false);
            else if (p.Elem.Struct != null)
                foreach (var (path, t) in HandlesIn(p.Elem.Struct, p.Name, new HashSet<string>()))
                    yield return (path, t, true);
        }
    }

    IEnumerable<(string, TypeRef)> HandlesIn(StructModel s, string path, HashSet<string> seen)
    {
        if (!seen.Add(s.Name)) yield break;
        foreach (var f in s.Fields)
        {
            if (f.Shape is FieldShape.SType or FieldShape.PNext or FieldShape.AllocationCallbacks) continue;
            if (f.Elem.Kind == TypeKind.Handle) yield return ($"{path}->{f.Name}", f.Elem);
            else if (f.Elem.Struct != null && f.Elem.Struct.Encodable)
                foreach (var h in HandlesIn(f.Elem.Struct, $"{path}->{f.Name}", seen)) yield return h;
        }
        if (s.HasPNext)
            foreach (var x in _m.ChainMembers(s).Where(x => x.Used))
                foreach (var h in HandlesIn(x, $"{path}->pNext({x.Name})", seen)) yield return h;
    }

    void Chunked(SortedDictionary<string, string> o, string prefix, string decl, string what, IEnumerable<string> parts, string usings = "")
    {
        int file = 0;
        var sb = new StringBuilder();
        void Flush()
        {
            if (sb.Length == 0 && file > 0) return;
            o[$"{prefix}{file:D2}.cs"] = Templates.Render("icd-file.sbn", new
            {
                Header = CodeWriter.Header($"Guest ICD {what}"), Usings = usings, Namespace = Ns, Declaration = decl,
                Body = sb.ToString().TrimEnd('\n'),
            });
            sb.Clear();
            file++;
        }
        bool firstInFile = true;
        foreach (var p in parts)
        {
            if (!firstInFile) sb.Append('\n');
            sb.Append(Indent(p));
            firstInFile = false;
            if (sb.Length > 400_000) { Flush(); firstInFile = true; }
        }
        Flush();
    }

    static string Indent(string s) =>
        string.Concat(s.Split('\n').Select(l => l.Length == 0 ? "\n" : "    " + l + "\n")).TrimEnd('\n') + "\n";

    // ---- Calls and Sends ------------------------------------------------------------------------

    string WireParams(CommandModel c) => string.Join(", ", c.Params.Select(p => $"{_wire.ParamCs(p)} {N(p)}"));

    string EmitCall(CommandModel c)
    {
        var w = new CodeWriter();
        string ring = Local(c, "ring"), e = Local(c, "e"), d = Local(c, "d"), ret = Local(c, "ret");
        string cls = $"Commands.{c.Name}";
        w.Line($"/// <summary>{c.Name} with a reply: sends it, waits for the host and decodes the reply into the caller's memory.</summary>");
        w.Open($"public static {Ret(c)} {c.Name}(GuestRing {ring}{Lead(WireParams(c))})");
        w.Line(_callRing.Contains(c.Reg!.Name) ? $"{ring} = {ring}.ForSlowCall();" : $"{ring} = {ring}.ForCall();");
        w.Line($"{ring}.Enter();");
        w.Open("try");
        w.Line($"VnEncoder {e} = {ring}.BeginCall({cls}.Size({Args(c, $"{ring}.Filter")}), {cls}.ReplySize({Args(c, $"{ring}.Filter")}));");
        w.Line($"{cls}.Encode(ref {e}, {ReplyFlag}{Lead(Args(c))});");
        w.Line($"VnDecoder {d} = {ring}.Call(in {e});");
        string decode = $"{cls}.DecodeReply(ref {d}{Lead(Args(c))});";
        w.Line(c.Return != null ? $"{Ret(c)} {ret} = {decode}" : decode);
        w.Line($"{ring}.CheckReply(in {d}, \"{c.Name}\");");
        if (c.Return != null) w.Line($"return {ret};");
        w.Close();
        w.Open("finally");
        w.Line($"{ring}.Exit();");
        w.Close();
        w.Close();
        return w.ToString();
    }

    string EmitSend(CommandModel c)
    {
        var w = new CodeWriter();
        string ring = Local(c, "ring"), e = Local(c, "e");
        string cls = $"Commands.{c.Name}";
        w.Line($"/// <summary>{c.Name} without a reply: queues it on the ring and returns the seqno after it.</summary>");
        w.Open($"public static uint {c.Name}(GuestRing {ring}{Lead(WireParams(c))})");
        w.Line($"{ring}.Enter();");
        w.Open("try");
        w.Line($"VnEncoder {e} = {ring}.BeginCall({cls}.Size({Args(c, $"{ring}.Filter")}), 0);");
        w.Line($"{cls}.Encode(ref {e}, 0{Lead(Args(c))});");
        w.Line($"return {ring}.Send(in {e});");
        w.Close();
        w.Open("finally");
        w.Line($"{ring}.Exit();");
        w.Close();
        w.Close();
        return w.ToString();
    }

    // ---- Entrypoints ----------------------------------------------------------------------------

    /// <summary>Arguments for the wire functions from the export's parameters: cast where the C ABI type differs.</summary>
    string ForwardArgs(CommandModel c, List<string> native, string? extra = null)
    {
        var a = new List<string>();
        for (int i = 0; i < c.Params.Count; i++)
        {
            var p = c.Params[i];
            if (p.Shape == FieldShape.AllocationCallbacks) { a.Add("null"); continue; }
            string wire = _wire.ParamCs(p);
            a.Add(wire == native[i] ? N(p) : $"({wire}){N(p)}");
        }
        if (extra != null) a.Add(extra);
        return string.Join(", ", a);
    }

    string EmitEntrypoint(CommandModel c)
    {
        var native = _fns.NativeSignature(c.Reg!)!;
        string nativeRet = native[^1];
        string sig = string.Join(", ", c.Params.Select((p, i) => $"{native[i]} {N(p)}"));
        string name = c.Name;
        string ex = Local(c, "ex");
        var first = c.Params[0];
        if (IsCmd(c))
        {
            // The shell is Templates/icd-cmd-export.sbn: command buffer lookup, encode, failure recorded on the command buffer.
            string cb = Local(c, "cb"), e = Local(c, "e");
            var encode = new List<string>();
            if (_wire.IsFlatCommand(c))
            {
                // The recording fast path: a size from the arguments alone, one reserve, unchecked writes.
                string size = Local(c, "n");
                encode.Add($"ulong {size} = Commands.{name}.Size({ForwardArgs(c, native)});");
                encode.Add($"VnRawWriter {e} = {cb}.ReserveRaw({size});");
                encode.Add($"Commands.{name}.Encode(ref {e}, 0{Lead(ForwardArgs(c, native))});");
                encode.Add($"{cb}.Commit(in {e}, {size});");
            }
            else
            {
                encode.Add($"VnEncoder {e} = {cb}.Reserve(Commands.{name}.Size({ForwardArgs(c, native, $"{cb}.StreamFilter")}));");
                encode.Add($"Commands.{name}.Encode(ref {e}, 0{Lead(ForwardArgs(c, native))});");
                encode.Add($"{cb}.Commit(in {e});");
            }
            // A hooked command (icd.xml <hook>) calls its hand-written hook once the command is in the stream.
            string? after = _hooks.ContainsKey(c.Reg!.Name) ? $"Families.IcdCommands.{HookName(c)}({cb}{Lead(string.Join(", ", c.Params.Skip(1).Select(N)))});" : null;
            return Templates.Render("icd-cmd-export.sbn", new
            {
                Ret = nativeRet, Name = name, Signature = sig, Cb = cb, First = N(first), Encode = encode, After = after, Ex = ex,
            });
        }
        var w = new CodeWriter();
        w.Line("[UnmanagedCallersOnly]");
        w.Open($"public static {nativeRet} {name}({sig})");
        string o = Local(c, "o"), r = Local(c, "r"), i = Local(c, "i"), n = Local(c, "n");
        bool isResult = c.Return?.VkName == "VkResult";
        bool reply = c.Return != null || c.Params.Any(p => p.IsOutput);
        var created = c.Params.Where(p => p.IsOutput && p.Elem.Kind == TypeKind.Handle).ToList();
        w.Open("try");
        w.Line($"var {o} = DispatchableObject.From({N(first)});");
        // The guest chooses the ids of the objects the command creates (§1.7).
        foreach (var p in created) EmitHandles(w, p, $"{o}.Instance.NewObjectId()", i, n);
        string call = $"Calls.{name}({o}.Ring, {ForwardArgs(c, native)})";
        string sret = c.Return == null ? "" : (Ret(c) == nativeRet ? "" : $"({nativeRet})");
        if (_async.Contains(c.Reg!.Name))
        {
            // Asynchronous creation (as Mesa's venus): the result could only be an out-of-memory
            // error, which the app meets at a later call (the host fails the context on the id).
            // VENUS_PERF=no_async_create waits for the host's answer instead.
            if (!isResult || created.Count == 0)
                throw new InvalidDataException($"icd.xml: <async> {name} is not a creation command returning VkResult");
            w.Open("if (!PerfOptions.NoAsyncCreate)");
            w.Line($"Sends.{name}({o}.Ring, {ForwardArgs(c, native)});");
            w.Line($"return Icd.Trace(VkResult.VK_SUCCESS, \"{name}\");");
            w.Close();
        }
        if (!reply) w.Line($"Sends.{name}({o}.Ring, {ForwardArgs(c, native)});");
        else if (isResult && created.Count > 0)
        {
            // A failed creation leaves VK_NULL_HANDLE, not an id the host never registered.
            w.Line($"VkResult {r} = {call};");
            foreach (var p in created) EmitHandles(w, p, "0", i, n, $"{r} < 0");
            w.Line($"return Icd.Trace({r}, \"{name}\");");
        }
        else if (isResult) w.Line($"return Icd.Trace({call}, \"{name}\");");
        else if (c.Return != null) w.Line($"return {sret}{call};");
        else w.Line($"{call};");
        w.Close();
        w.Open($"catch (Exception {ex})");
        if (isResult)
        {
            foreach (var p in created) EmitHandles(w, p, "0", i, n);
            w.Line($"return Icd.Fail({ex}, \"{name}\");");
        }
        else
        {
            w.Line($"Icd.FailVoid({ex}, \"{name}\");");
            if (c.Return != null) w.Line("return default;");
        }
        w.Close();
        w.Close();
        return w.ToString();
    }

    /// <summary>Writes value into every element of an output handle parameter (a pointer or an array with a len).</summary>
    static void EmitHandles(CodeWriter w, FieldModel p, string value, string i, string n, string? when = null)
    {
        string pn = N(p);
        string cond = when == null ? $"{pn} != null" : $"{when} && {pn} != null";
        if (p.Shape == FieldShape.Pointer)
        {
            w.Line($"if ({cond}) *{pn} = {value};");
            return;
        }
        if (p.Shape != FieldShape.Array || p.LenExpr == null)
            throw new InvalidDataException($"{p.Name}: an output handle of shape {p.Shape}");
        w.Open($"if ({cond})");
        w.Line($"ulong {n} = {string.Format(p.LenExpr, "")};");
        w.Line($"for (ulong {i} = 0; {i} < {n}; {i}++) {pn}[{i}] = {value};");
        w.Close();
    }

    // ---- ProcTable ------------------------------------------------------------------------------

    /// <summary>The name's origin: (core version, null) when a Vulkan version requires it, else (0, extension); null when only platform or disabled extensions have it.</summary>
    (uint Core, string? Ext)? Origin(string name, bool platform = false)
    {
        uint core = 0;
        foreach (var f in _m.Reg.Features)
            if (f.Commands.Contains(name))
            {
                uint v = (uint)((f.Major << 22) | (f.Minor << 12));
                if (core == 0 || v < core) core = v;
            }
        if (core != 0) return (core, null);
        var exts = _m.Reg.Extensions.Values
            .Where(x => (platform || x.Platform == null) && x.Supported.Split(',').Contains("vulkan") && x.Commands.Contains(name))
            // A generated export comes from the protocol, so a covered extension names it first; a hand-written one
            // (platform: true) is the ICD's own, named by the extension that introduced it (VK_KHR_swapchain before VK_KHR_device_group).
            .OrderBy(x => !platform && _m.CoveredExtensions.Contains(x) ? 0 : 1).ThenBy(x => x.Number).ToList();
        return exts.Count == 0 ? null : (0u, exts[0].Name);
    }

    /// <summary>Every name of the command: the defining one and its aliases that a Vulkan version or a non-platform extension has.</summary>
    List<(string Name, uint Core, string? Ext)> Names(CommandModel c) => NamesOf(c.Reg!.Name, platform: false);

    /// <summary>Every name of the defining command <paramref name="def"/>; platform extensions count when <paramref name="platform"/> (hand-written WSI commands).</summary>
    List<(string Name, uint Core, string? Ext)> NamesOf(string def, bool platform)
    {
        var names = _m.Reg.Commands.Keys.Where(k => _m.Reg.ResolveCommand(k)?.Name == def).OrderBy(k => k == def ? 0 : 1).ThenBy(k => k, StringComparer.Ordinal);
        var list = new List<(string, uint, string?)>();
        foreach (var k in names)
            if (Origin(k, platform) is { } og) list.Add((k, og.Core, og.Ext));
        if (list.Count == 0) throw new InvalidDataException($"{def}: no Vulkan version or extension provides it");
        return list;
    }

    static string Scope(CommandModel c) => c.Params[0].Elem.VkName switch
    {
        "VkInstance" => "ProcScope.Instance",
        "VkPhysicalDevice" => "ProcScope.PhysicalDevice",
        "VkDevice" or "VkQueue" or "VkCommandBuffer" => "ProcScope.Device",
        var t => throw new InvalidDataException($"{c.Name}: no proc scope for a first parameter of type {t}"),
    };

    static string Version(uint v) => v == 0 ? "0" : $"(1u << 22) | ({(v >> 12) & 0x3FF}u << 12)";

    // ---- hand-written commands (icd.xml) ---------------------------------------------------------

    /// <summary>A hand-written command: its native signature, the family file that implements it, its proc scope and export condition.</summary>
    public sealed record FamilyCommand(RegCommand Reg, string Family, string? When, List<(string Type, string Name)> Params, string Ret, string Scope);

    /// <summary>The global commands (vkGetInstanceProcAddr with a NULL instance may return them).</summary>
    static readonly HashSet<string> GlobalCommands = new(StringComparer.Ordinal)
    {
        "vkCreateInstance", "vkEnumerateInstanceVersion", "vkEnumerateInstanceExtensionProperties", "vkEnumerateInstanceLayerProperties", "vkGetInstanceProcAddr",
    };

    /// <summary>Every hand-written command of icd.xml, in icd.xml's order.</summary>
    public List<FamilyCommand> FamilyCommands()
    {
        var list = new List<FamilyCommand>();
        foreach (var n in _m.Reg.IcdHandWritten)
        {
            var rc = _m.Reg.ResolveCommand(n)!;
            if (rc.Name != n) throw new InvalidDataException($"icd.xml: list {rc.Name}, not its alias {n}");
            var (family, when) = _m.Reg.IcdFamilies[n];
            var native = _fns.NativeSignature(rc) ?? _fns.NativeSignature(WithPlatformScalars(rc)) ?? throw new InvalidDataException($"icd.xml: {n} has no native signature");
            var ps = rc.Params.Select((p, i) => (native[i], NativeEmitter.Escape(p.Name))).ToList();
            string scope = GlobalCommands.Contains(n) ? "ProcScope.Global" : (rc.Params.Count == 0 ? "" : _m.Reg.Resolve(rc.Params[0].Type)?.Name) switch
            {
                "VkInstance" => "ProcScope.Instance",
                "VkPhysicalDevice" => "ProcScope.PhysicalDevice",
                "VkDevice" or "VkQueue" or "VkCommandBuffer" => "ProcScope.Device",
                var t => throw new InvalidDataException($"icd.xml: {n}: no proc scope for a first parameter of type {t}"),
            };
            list.Add(new FamilyCommand(rc, family, when, ps, native[^1], scope));
        }
        return list;
    }

    /// <summary>Window-system scalars passed by value (xcb_visualid_t is uint32_t, Xlib's VisualID an unsigned long) as their C types.</summary>
    static RegCommand WithPlatformScalars(RegCommand c)
    {
        var copy = new RegCommand { Name = c.Name, ReturnType = c.ReturnType };
        foreach (var p in c.Params)
        {
            string type = p.PointerDepth == 0 && p.Type == "xcb_visualid_t" ? "uint32_t" : p.PointerDepth == 0 && p.Type == "VisualID" ? "uint64_t" : p.Type;
            copy.Params.Add(new RegMember { Name = p.Name, Type = type, IsConst = p.IsConst, PointerDepth = p.PointerDepth, FixedDim = p.FixedDim, FixedDim2 = p.FixedDim2, Len = p.Len, AltLen = p.AltLen, Optional = p.Optional });
        }
        return copy;
    }

    /// <summary>The partial method declarations: a listed command without its implementation in Families/ fails the build (CS8795).</summary>
    string EmitFamilyDeclarations(List<FamilyCommand> families)
    {
        var w = new CodeWriter();
        w.Line(CodeWriter.Header("Guest ICD hand-written commands: the partial methods that Families/*.cs implement, one per icd.xml entry."));
        w.Line("using System.Runtime.CompilerServices;");
        w.Line("using Venus.Protocol.Vulkan;");
        w.Line();
        w.Line("namespace Venus.GuestIcd.Families;");
        w.Line();
        w.Open("internal static unsafe partial class IcdCommands");
        foreach (var group in families.GroupBy(f => f.Family))
        {
            w.Line($"// Families/{group.Key}.cs");
            foreach (var f in group)
            {
                // Recorded commands stay one call deep, as the generated vkCmd* exports are.
                if (f.Reg.Name.StartsWith("vkCmd", StringComparison.Ordinal)) w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
                w.Line($"internal static partial {f.Ret} {f.Reg.Name}({string.Join(", ", f.Params.Select(p => $"{p.Type} {p.Name}"))});");
            }
        }
        w.Close();
        return w.ToString();
    }

    /// <summary>The exports of the hand-written commands: each catches every exception, so none reaches the app.</summary>
    string EmitFamilyExports(List<FamilyCommand> families)
    {
        var w = new CodeWriter();
        w.Line(CodeWriter.Header("Guest ICD hand-written commands: the exports the Vulkan loader calls, around Families/*.cs."));
        w.Line("using System.Runtime.InteropServices;");
        w.Line("using Venus.GuestIcd.Families;");
        w.Line("using Venus.GuestIcd.Runtime;");
        w.Line("using Venus.Protocol.Vulkan;");
        w.Line();
        w.Line($"namespace {Ns};");
        w.Line();
        w.Open("internal static unsafe partial class Entrypoints");
        bool first = true;
        foreach (var f in families)
        {
            if (!first) w.Line();
            first = false;
            string name = f.Reg.Name;
            string call = $"IcdCommands.{name}({string.Join(", ", f.Params.Select(p => p.Name))})";
            w.Line("[UnmanagedCallersOnly]");
            w.Open($"public static {f.Ret} {name}({string.Join(", ", f.Params.Select(p => $"{p.Type} {p.Name}"))})");
            w.Open("try");
            w.Line(f.Ret == "void" ? $"{call};" : $"return {call};");
            w.Close();
            w.Open("catch (Exception ex)");
            if (f.Ret == "VkResult") w.Line($"return Icd.Fail(ex, \"{name}\");");
            else
            {
                w.Line($"Icd.FailVoid(ex, \"{name}\");");
                if (f.Ret != "void") w.Line("return default;");
            }
            w.Close();
            w.Close();
        }
        w.Close();
        return w.ToString();
    }

    /// <summary>The hook a hooked vkCmd* export calls after recording (icd.xml &lt;hook&gt;).</summary>
    static string HookName(CommandModel c) => c.Reg!.Name + "Recorded";

    /// <summary>
    /// The partial declarations of the hooks (icd.xml &lt;hook&gt;): the command buffer the command was just
    /// recorded into, then the command's parameters after the command buffer, in their native types. A
    /// listed hook without its method in Families/ fails the build (CS8795), as a hand-written command does.
    /// </summary>
    string EmitFamilyHooks(List<CommandModel> exported)
    {
        var byName = exported.ToDictionary(c => c.Reg!.Name, StringComparer.Ordinal);
        var w = new CodeWriter();
        w.Line(CodeWriter.Header("Guest ICD hooks: what Families/*.cs adds after a generated vkCmd* export records its command (icd.xml <hook>)."));
        w.Line("using System.Runtime.CompilerServices;");
        w.Line("using Venus.Protocol.Vulkan;");
        w.Line("using CommandBuffer = Venus.GuestIcd.Runtime.CommandBuffer;");
        w.Line();
        w.Line("namespace Venus.GuestIcd.Families;");
        w.Line();
        w.Open("internal static unsafe partial class IcdCommands");
        foreach (var group in _m.Reg.IcdHooks.GroupBy(h => h.Family))
        {
            w.Line($"// Families/{group.Key}.cs");
            foreach (var (n, _) in group)
            {
                if (!byName.TryGetValue(n, out var c) || !IsCmd(c))
                    throw new InvalidDataException($"icd.xml: <hook> {n} is not a vkCmd* command with a generated export");
                var native = _fns.NativeSignature(c.Reg!)!;
                var ps = c.Params.Select((p, i) => $"{native[i]} {N(p)}").Skip(1).Prepend($"CommandBuffer {Local(c, "cb")}");
                // Stays one call deep, as the rest of the export is.
                w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
                w.Line($"internal static partial void {HookName(c)}({string.Join(", ", ps)});");
            }
        }
        w.Close();
        return w.ToString();
    }

    string EmitExtensionCommands()
    {
        var w = new CodeWriter();
        w.Line(CodeWriter.Header("Guest ICD extension commands: what each covered device extension brings, and under which dependency."));
        w.Line("using Venus.GuestIcd.Runtime;");
        w.Line();
        w.Line($"namespace {Ns};");
        w.Line();
        w.Line("/// <summary>");
        w.Line("/// Every command of every device extension the protocol covers, by the name the extension gives it,");
        w.Line("/// with the vk.xml <c>depends</c> of the require block that lists it (null: the extension alone brings it).");
        w.Line("/// </summary>");
        w.Open("internal static class ExtensionCommands");
        w.Open("public static readonly ExtensionCommand[] All =");
        foreach (var x in _m.CoveredExtensions.Where(x => x.Kind == "device").OrderBy(x => x.Number))
            foreach (var (cmd, depends) in x.CommandDepends)
                w.Line($"new(\"{x.Name}\", \"{cmd}\", {(depends == null ? "null" : $"\"{depends}\"")}),");
        w.Close(";");
        w.Close();
        return w.ToString();
    }

    string EmitProcTable(List<CommandModel> exported, List<FamilyCommand> families)
    {
        var w = new CodeWriter();
        w.Line(CodeWriter.Header("Guest ICD ProcTable: the generated exports under every name the loader may ask for."));
        w.Line("using Venus.GuestIcd.Generated;");
        w.Line("using Venus.Protocol.Vulkan;");
        w.Line();
        w.Line($"namespace {ProcTableNs};");
        w.Line();
        w.Open("internal static unsafe partial class ProcTable");
        w.Open("static partial void AddGenerated(Dictionary<string, ProcEntry> table)");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in exported)
        {
            var native = _fns.NativeSignature(c.Reg!)!;
            string fn = $"(nint)(delegate* unmanaged<{string.Join(", ", native)}>)&Entrypoints.{c.Name}";
            string scope = Scope(c);
            foreach (var (name, core, ext) in Names(c))
            {
                if (!seen.Add(name)) throw new InvalidDataException($"{name}: two generated exports claim it");
                w.Line($"table[\"{name}\"] = new ProcEntry({fn}, {scope}, {Version(core)}, {(ext == null ? "null" : $"\"{ext}\"")});");
            }
        }
        // The hand-written commands (icd.xml), through their generated export shims.
        foreach (var f in families)
        {
            string fn = $"(nint)(delegate* unmanaged<{string.Join(", ", f.Params.Select(p => p.Type).Append(f.Ret))}>)&Entrypoints.{f.Reg.Name}";
            if (f.When != null) w.Open($"if ({f.When})");
            foreach (var (name, core, ext) in NamesOf(f.Reg.Name, platform: true))
            {
                if (!seen.Add(name)) throw new InvalidDataException($"{name}: a generated and a hand-written export claim it");
                w.Line($"table[\"{name}\"] = new ProcEntry({fn}, {f.Scope}, {Version(core)}, {(ext == null ? "null" : $"\"{ext}\"")});");
            }
            if (f.When != null) w.Close();
        }
        w.Close();
        w.Close();
        return w.ToString();
    }
}
