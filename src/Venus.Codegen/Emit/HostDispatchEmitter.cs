using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>
/// The host renderer's command dispatch: for every command with a body, decode the request (ids
/// translated to real handles with their type checked), call the driver through the function table
/// of the command's dispatchable object, keep the object table in step with creations and
/// destructions, and write the reply when the guest asked for one. Commands whose Vulkan semantics
/// need more than that are routed to hand-written handlers (Definitions/host.xml &lt;handwritten&gt;);
/// commands that need only the guest's arguments checked first keep this generated handler, which
/// calls a hand-written check before the driver (host.xml &lt;check&gt;).
/// </summary>
public sealed class HostDispatchEmitter
{
    readonly ProtocolModel _m;
    readonly WireEmitter _wire;
    readonly DispatchEmitter _fns;

    /// <summary>Commands the host implements by hand (Definitions/host.xml: instance/device set-up, memory export, Venus transport, ...).</summary>
    readonly HashSet<string> _handWritten;

    /// <summary>Commands whose generated handler calls a hand-written check before the driver (host.xml &lt;check&gt;): name → family.</summary>
    readonly Dictionary<string, string> _checks = new(StringComparer.Ordinal);

    /// <summary>Commands whose generated handler calls a hand-written method after the driver (host.xml &lt;after&gt;): name → family.</summary>
    readonly Dictionary<string, string> _afters = new(StringComparer.Ordinal);

    public HostDispatchEmitter(ProtocolModel m, WireEmitter wire, DispatchEmitter fns)
    {
        _m = m;
        _wire = wire;
        _fns = fns;
        _handWritten = new HashSet<string>(m.Reg.HostHandWritten, StringComparer.Ordinal);
        var wireCommands = wire.WireCommands().ToDictionary(c => c.Name, StringComparer.Ordinal);
        foreach (var n in _handWritten)
            if (!wireCommands.ContainsKey(n))
                throw new InvalidDataException($"host.xml: {n} is not a command with a wire body");
        foreach (var (n, family) in m.Reg.HostChecks)
        {
            GeneratedHandlerOf("check", n, wireCommands);
            _checks.Add(n, family);
        }
        foreach (var (n, family) in m.Reg.HostAfters)
        {
            var c = GeneratedHandlerOf("after", n, wireCommands);
            if (CreatedHandle(c) == null && DestroyedHandle(c) == null)
                throw new InvalidDataException($"host.xml: <after> {n} neither creates one object (one output handle) nor destroys one (vkDestroyX(device, x, ...))");
            _afters.Add(n, family);
        }
    }

    /// <summary>
    /// The command a host.xml &lt;check&gt; or &lt;after&gt; line names, which must keep a generated handler
    /// with a driver call: a known command under its own name, not hand-written, with a wire body and a
    /// dispatchable first parameter.
    /// </summary>
    CommandModel GeneratedHandlerOf(string element, string n, Dictionary<string, CommandModel> wireCommands)
    {
        var rc = _m.Reg.ResolveCommand(n) ?? throw new InvalidDataException($"host.xml: <{element}> of unknown command {n}");
        if (rc.Name != n) throw new InvalidDataException($"host.xml: <{element}> {rc.Name}, not its alias {n}");
        if (_handWritten.Contains(n)) throw new InvalidDataException($"host.xml: <{element}> {n} is also <handwritten>; it is for a generated handler");
        if (!wireCommands.TryGetValue(n, out var c)) throw new InvalidDataException($"host.xml: <{element}> {n} is not a command with a wire body");
        if (c.Params.FirstOrDefault() is not { } first || !IsDispatchableType(first.Elem))
            throw new InvalidDataException($"host.xml: <{element}> {n} has no generated driver call (its first parameter is not a dispatchable handle)");
        return c;
    }

    /// <summary>The after-the-driver method of a command (host.xml &lt;after&gt;).</summary>
    public static string AfterName(string command) => command + "After";

    /// <summary>The one output handle a creating command writes (a pointer to one handle), or null.</summary>
    static FieldModel? CreatedHandle(CommandModel c)
    {
        var outs = c.Params.Where(p => p.IsOutput && p.Elem.Kind == TypeKind.Handle).ToList();
        return outs.Count == 1 && outs[0].Shape == FieldShape.Pointer ? outs[0] : null;
    }

    /// <summary>The handle a vkDestroyX(device, x, pAllocator) destroys, or null.</summary>
    static FieldModel? DestroyedHandle(CommandModel c) =>
        c.Name.StartsWith("vkDestroy", StringComparison.Ordinal) && c.Params.Count >= 2 && c.Params[1].Shape == FieldShape.Value && c.Params[1].Elem.Kind == TypeKind.Handle
            ? c.Params[1] : null;

    /// <summary>The hand-written check a checked command's generated handler calls before the driver (host.xml &lt;check&gt;).</summary>
    public static string CheckName(string command) => command + "Check";

    /// <summary>
    /// The partial declarations of the checks (host.xml &lt;check&gt;), one per listed command, grouped by
    /// the family file that implements them: a listed check without its method fails the build (CS8795),
    /// and a method not listed here cannot be a partial implementation (CS0759).
    /// </summary>
    public string EmitChecks() => Templates.Render("host-checks.sbn", new
    {
        Header = CodeWriter.Header("Host checks: what Families/*.cs checks in the guest's decoded arguments before a generated handler calls the driver (host.xml <check>)."),
        Families = _m.Reg.HostChecks.GroupBy(h => h.Family)
            .Select(g => new { Family = g.Key, Checks = g.Select(h => new { h.Command, Method = CheckName(h.Command) }).ToList() }).ToList(),
        AfterFamilies = _m.Reg.HostAfters.GroupBy(h => h.Family)
            .Select(g => new { Family = g.Key, Afters = g.Select(h => new { h.Command, Method = AfterName(h.Command) }).ToList() }).ToList(),
    });

    public string Emit()
    {
        var cmds = _wire.WireCommands().ToList();
        var bodies = new CodeWriter();
        bodies.Indent();
        foreach (var c in cmds) EmitCommand(bodies, c);
        return Templates.Render("host-dispatch.sbn", new
        {
            Header = CodeWriter.Header("Host-side dispatch of every Venus command with a body."),
            HandWritten = cmds.Where(c => _handWritten.Contains(c.Name)).Select(c => c.Name).ToList(),
            Commands = cmds.Select(c => new { c.TypeValue, c.Name }).ToList(),
            Bodies = bodies.ToString(),
        });
    }

    static bool IsDispatchableType(TypeRef t) => t.Kind == TypeKind.Handle && t.Dispatchable;

    /// <summary>A device-level vkDestroy*/vkFree* or pool reset: must not reach the driver while queue work may use the object.</summary>
    static bool RetiresFirst(CommandModel c) =>
        (c.Name.StartsWith("vkDestroy", StringComparison.Ordinal) || c.Name.StartsWith("vkFree", StringComparison.Ordinal) || c.Name is "vkResetCommandPool")
        && c.Params.Count >= 2 && c.Params[0].Elem.VkName == "VkDevice";

    /// <summary>The device extensions that provide <paramref name="command"/>, or null when a core version or an instance extension does (or none is known).</summary>
    List<string>? DeviceExtensionsOnly(string command)
    {
        // The command under each of its names (an EXT command promoted to KHR is one command to the driver).
        var names = new HashSet<string>(StringComparer.Ordinal) { command };
        if (_m.Reg.Commands.TryGetValue(command, out var rc) && rc.Alias != null) names.Add(rc.Alias);
        foreach (var other in _m.Reg.Commands.Values)
            if (other.Alias != null && names.Contains(other.Alias)) names.Add(other.Name);
        if (_m.Reg.Features.Any(f => f.Commands.Overlaps(names))) return null;
        var providers = _m.Reg.Extensions.Values.Where(e => e.Commands.Overlaps(names)).ToList();
        if (providers.Count == 0 || providers.Any(e => e.Kind != "device")) return null;
        return providers.Select(e => e.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();
    }

    void EmitCommand(CodeWriter w, CommandModel c)
    {
        w.Line();
        w.Open($"static bool {c.Name}_(Dispatcher x, uint flags, ref VnDecoder d)");
        w.Line($"{c.Name}.Args a = default;");
        w.Line("x.BeginCommand();");
        w.Line($"{c.Name}.Decode(ref d, &a);");
        w.Line($"if (d.Failed) return x.DecodeFailed({c.TypeValue}, ref d);");
        if (_handWritten.Contains(c.Name))
        {
            w.Line($"if (!x.Handlers.{c.Name}(x, &a)) return false;");
        }
        else
        {
            var first = c.Params.FirstOrDefault();
            if (first == null || !IsDispatchableType(first.Elem))
            {
                w.Line($"return x.Unsupported({c.TypeValue});");
                w.Close();
                return;
            }
            bool device = first.Elem.VkName is "VkDevice" or "VkQueue" or "VkCommandBuffer";
            string table = device ? "x.DeviceFunctions" : "x.InstanceFunctions";
            w.Line($"var fn = {table} == null ? null : {table}->{c.Reg!.Name};");
            w.Line($"if (fn == null) return x.MissingFunction({c.TypeValue});");
            // A physical-device command that only device extensions provide: the loader hands out its
            // trampoline whether or not the driver has the command, and calling it on a driver without
            // the extension reaches a NULL entry (lavapipe faulted): the driver must offer one of them.
            if (first.Elem.VkName == "VkPhysicalDevice" && DeviceExtensionsOnly(c.Reg!.Name) is { } exts)
                w.Line($"if (!x.Handlers.DriverOffers(x, a.{NativeEmitter.Escape(first.Name)}, {c.TypeValue}, \"{string.Join(",", exts)}\")) return false;");
            // A checked command (host.xml <check>): the guest's arguments pass the family's rules first.
            if (_checks.ContainsKey(c.Name)) w.Line($"if (!x.Handlers.{CheckName(c.Name)}(x, &a)) return false;");
            // Output handles: the driver writes real handles into temporaries; the guest's ids are registered.
            var outHandles = c.Params.Where(p => p.IsOutput && p.Elem.Kind == TypeKind.Handle).ToList();
            var callArgs = new List<string>();
            foreach (var p in c.Params)
            {
                string n = NativeEmitter.Escape(p.Name);
                if (outHandles.Contains(p))
                {
                    if (p.Shape == FieldShape.Pointer)
                    {
                        w.Line($"ulong real_{p.Name} = 0;");
                        callArgs.Add($"a.{n} == null ? null : &real_{p.Name}");
                    }
                    else
                    {
                        string len = string.Format(p.LenExpr!, "a.");
                        w.Line($"ulong n_{p.Name} = a.{n} == null ? 0 : {len};");
                        w.Line($"ulong* real_{p.Name} = n_{p.Name} == 0 ? null : (ulong*)d.Alloc(n_{p.Name}, 8);");
                        w.Line($"if (n_{p.Name} != 0 && real_{p.Name} == null) return x.DecodeFailed({c.TypeValue}, ref d);");
                        callArgs.Add($"real_{p.Name}");
                    }
                }
                else if (p.Shape == FieldShape.AllocationCallbacks) callArgs.Add("null");
                else callArgs.Add($"a.{n}");
            }
            // Destroying, freeing or resetting what unfinished queue work may still use would crash
            // some drivers: the host first lets that work finish (Context/SubmitRetire.cs).
            if (RetiresFirst(c))
                w.Line($"if (!x.Ctx.Retire.BeforeDestroy(a.{NativeEmitter.Escape(first.Name)}, \"{c.Name}\")) return false;");
            string call = $"fn({string.Join(", ", callArgs)})";
            if (c.Return != null) w.Line($"a.ret = {call};");
            else w.Line($"{call};");
            foreach (var p in outHandles)
            {
                string n = NativeEmitter.Escape(p.Name);
                bool ok = c.Return?.VkName == "VkResult";
                string succeeded = ok ? "(int)a.ret >= 0" : "true";
                // An object the driver did not create is answered as VK_NULL_HANDLE, never as the
                // guest's id: the guest must not believe in an id this table never registered.
                if (p.Shape == FieldShape.Pointer)
                {
                    w.Open($"if (a.{n} != null)");
                    w.Line($"if ({succeeded} && real_{p.Name} != 0) {{ if (!x.Register(*a.{n}, real_{p.Name}, {p.Elem.ObjectType})) return false; }}");
                    w.Line($"else *a.{n} = 0;");
                    w.Close();
                }
                else
                {
                    w.Open($"for (ulong i = 0; i < n_{p.Name}; i++)");
                    w.Line($"if ({succeeded} && real_{p.Name}[i] != 0) {{ if (!x.Register(a.{n}[i], real_{p.Name}[i], {p.Elem.ObjectType})) return false; }}");
                    w.Line($"else a.{n}[i] = 0;");
                    w.Close();
                }
            }
            // vkDestroyX(device, x, pAllocator): the object leaves the table once the driver destroyed it.
            if (c.Name.StartsWith("vkDestroy") && c.Params.Count >= 2 && c.Params[1].Shape == FieldShape.Value && c.Params[1].Elem.Kind == TypeKind.Handle)
                w.Line($"x.Unregister(a.{NativeEmitter.Escape(c.Params[1].Name)}, {c.Params[1].Elem.ObjectType});");
            // An object with an after (host.xml <after>): the family records what it created or forgets what
            // was destroyed, by the driver's handle, once the object table has it (or no longer has it).
            if (_afters.ContainsKey(c.Name))
            {
                if (CreatedHandle(c) is { } created)
                    w.Line($"if (a.{NativeEmitter.Escape(created.Name)} != null && *a.{NativeEmitter.Escape(created.Name)} != 0) x.Handlers.{AfterName(c.Name)}(x, &a, real_{created.Name});");
                else
                    w.Line($"x.Handlers.{AfterName(c.Name)}(x, &a, a.{NativeEmitter.Escape(DestroyedHandle(c)!.Name)});");
            }
        }
        w.Open("if ((flags & 1) != 0)");
        w.Line($"ulong size = {c.Name}.ReplySize(&a);");
        w.Line("var e = x.BeginReply(size, out bool ok);");
        w.Line("if (!ok) return false;");
        w.Line($"{c.Name}.EncodeReply(ref e, &a);");
        w.Line("x.EndReply(ref e);");
        w.Close();
        w.Line("return true;");
        w.Close();
    }
}
