using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>Wire codecs (<see cref="WireEmitter"/>): pNext chains: the members a chain may carry, sized, encoded and decoded by sType.</summary>
public sealed partial class WireEmitter
{
    void EmitChain(CodeWriter w, StructModel s, Mode m)
    {
        var members = ChainMembersFor(s, m);
        switch (m)
        {
            case Mode.Size:
            case Mode.SizePartial:
                {
                    // A loop, not a recursion: 8 for the end marker, 12 + self for each element kept.
                    string self = m == Mode.Size ? "SizeSelf" : "SizePartialSelf";
                    if (members.Count == 0)
                    {
                        w.Line($"public static ulong {(m == Mode.Size ? "SizeChain" : "SizePartialChain")}(void* p, VnProtocolFilter f) => 8;");
                        return;
                    }
                    w.Open($"public static ulong {(m == Mode.Size ? "SizeChain" : "SizePartialChain")}(void* p, VnProtocolFilter f)");
                    w.Line("ulong n = 8;");
                    w.Open("for (; p != null; p = ((VnChainHeader*)p)->pNext)");
                    w.Open("switch (((VnChainHeader*)p)->sType)");
                    foreach (var x in members)
                    {
                        string g = Gate(x);
                        string cond = g == "true" ? "" : $" when f == null || {g}";
                        w.Line($"case {x.STypeValue}{cond}: n += 12 + {W(x)}.{self}(({x.Name}*)p, f); break;");
                    }
                    w.Close();
                    w.Close();
                    w.Line("return n;");
                    w.Close();
                    return;
                }
            case Mode.Encode:
            case Mode.EncodePartial:
                {
                    string name = m == Mode.Encode ? "EncodeChain" : "EncodePartialChain";
                    string self = m == Mode.Encode ? "EncodeSelf" : "EncodePartialSelf";
                    if (members.Count == 0)
                    {
                        w.Line($"public static void {name}(ref VnEncoder e, void* p) => e.Pointer(false);");
                        return;
                    }
                    // Every kept element's header first, then their members last to first (§1.5). No
                    // frame per element: the elements kept are remembered on the stack, as many as the
                    // chain limit; a longer chain (structs vk.xml lets repeat) hands its rest, which
                    // encodes as one piece, to a nested call at that point.
                    w.Line("[System.Runtime.CompilerServices.SkipLocalsInit]");
                    w.Open($"public static void {name}(ref VnEncoder e, void* p)");
                    w.Line("if (p == null) { e.Pointer(false); return; }");
                    w.Line("var f = e.Filter;");
                    int room = Math.Max(1, members.Count(x => !x.Reg.AllowDuplicate)); // the chain limit; never 0, so each call takes at least one element
                    w.Line($"VnChainHeader** kept = stackalloc VnChainHeader*[{room}];");
                    w.Line("int n = 0;");
                    w.Open("for (; ; p = ((VnChainHeader*)p)->pNext)");
                    w.Line("if (p == null) { e.Pointer(false); break; }");
                    w.Line($"if (n == {room}) {{ {name}(ref e, p); break; }}");
                    w.Open("switch (((VnChainHeader*)p)->sType)");
                    foreach (var x in members)
                    {
                        string g = Gate(x);
                        string cond = g == "true" ? "" : $" when f == null || {g}";
                        w.Line($"case {x.STypeValue}{cond}: e.Pointer(true); e.I32({x.STypeValue}); kept[n++] = (VnChainHeader*)p; break;");
                    }
                    w.Close();
                    w.Close();
                    w.Open("while (n > 0)");
                    w.Line("var q = kept[--n];");
                    w.Open("switch (q->sType)");
                    foreach (var x in members)
                        w.Line($"case {x.STypeValue}: {W(x)}.{self}(ref e, ({x.Name}*)q); break;");
                    w.Close();
                    w.Close();
                    w.Close();
                    return;
                }
            case Mode.Decode:
            case Mode.DecodePartial:
                {
                    string name = m == Mode.Decode ? "DecodeChain" : "DecodePartialChain";
                    string self = m == Mode.Decode ? "DecodeSelf" : "DecodePartialSelf";
                    string limit = m == Mode.Decode ? "ChainLimit" : "PartialChainLimit";
                    w.Open($"public static void* {name}(ref VnDecoder d)");
                    if (members.Count == 0)
                    {
                        w.Line("if (d.Pointer()) d.Fail(VnDecodeError.UnexpectedSType);");
                        w.Line("return null;");
                        w.Close();
                        return;
                    }
                    // No recursion, so no depth to bound: every element's sType comes before any
                    // element's members (§1.5). The headers are read first, each element allocated
                    // and linked to the one before it; then the members arrive innermost first, and
                    // the links are turned forward while they are decoded.
                    w.Line("if (!d.Pointer()) return null;");
                    w.Line("VnChainHeader* last = null;");
                    w.Line("int n = 0;");
                    w.Open("do");
                    w.Line("int st = d.I32();");
                    w.Line("VnChainHeader* p;");
                    w.Open("switch (st)");
                    foreach (var x in members)
                    {
                        // Structs vk.xml lets repeat (allowduplicate) do not count against the limit; the arena cap bounds them.
                        string uncounted = x.Reg.AllowDuplicate ? " n--;" : "";
                        w.Line($"case {x.STypeValue}: p = (VnChainHeader*)d.Alloc(1, (ulong)sizeof({x.Name}));{uncounted} break;");
                    }
                    w.Line("default: d.Fail(VnDecodeError.UnexpectedSType); return null;");
                    w.Close();
                    w.Line("if (p == null) return null;");
                    w.Line($"if (++n > {limit}) {{ d.Fail(VnDecodeError.ChainTooLong); return null; }}");
                    w.Line("p->sType = st;");
                    w.Line("p->pNext = last;");
                    w.Line("last = p;");
                    w.Close(" while (d.Pointer());");
                    w.Line("if (d.Failed) return null;");
                    w.Line("VnChainHeader* next = null;");
                    w.Open("while (last != null)");
                    w.Line("var before = (VnChainHeader*)last->pNext;");
                    w.Line("last->pNext = next;");
                    w.Open("switch (last->sType)");
                    foreach (var x in members)
                        w.Line($"case {x.STypeValue}: {W(x)}.{self}(ref d, ({x.Name}*)last); break;");
                    w.Close();
                    w.Line("if (d.Failed) return null;");
                    w.Line("next = last;");
                    w.Line("last = before;");
                    w.Close();
                    w.Line("return next;");
                    w.Close();
                    return;
                }
            case Mode.DecodeInto:
                {
                    if (members.FirstOrDefault(x => x.Reg.AllowDuplicate) is { } dup)
                        throw new InvalidOperationException($"{s.Name}: output chain member {dup.Name} may repeat; DecodeIntoChain keeps one slot per known struct");
                    if (members.Count == 0)
                    {
                        w.Open("public static void DecodeIntoChain(ref VnDecoder d, void* chain)");
                        w.Line("if (d.Pointer()) d.Fail(VnDecodeError.UnexpectedSType);");
                        w.Close();
                        return;
                    }
                    w.Line("[System.Runtime.CompilerServices.SkipLocalsInit]");
                    w.Open("public static void DecodeIntoChain(ref VnDecoder d, void* chain)");
                    // The host may leave out chain elements but keeps their order; each one is found
                    // forward in the caller's chain (§1.5). No recursion: the headers come first and
                    // the elements found are kept (at most one of each known struct), then their
                    // members arrive innermost first.
                    w.Line("if (!d.Pointer()) return;");
                    w.Line("VnChainHeader** found = stackalloc VnChainHeader*[PartialChainLimit];");
                    w.Line("int n = 0;");
                    w.Line("var p = (VnChainHeader*)chain;");
                    w.Open("do");
                    w.Line("if (n == PartialChainLimit) { d.Fail(VnDecodeError.ChainTooLong); return; }");
                    w.Line("int st = d.I32();");
                    w.Line("while (p != null && p->sType != st) p = (VnChainHeader*)p->pNext;");
                    w.Line("if (p == null) { d.Fail(VnDecodeError.UnexpectedSType); return; }");
                    w.Line("found[n++] = p;");
                    w.Line("p = (VnChainHeader*)p->pNext;");
                    w.Close(" while (d.Pointer());");
                    w.Line("if (d.Failed) return;");
                    w.Open("while (n > 0)");
                    w.Line("p = found[--n];");
                    w.Open("switch (p->sType)");
                    foreach (var x in members)
                        w.Line($"case {x.STypeValue}: {W(x)}.DecodeIntoSelf(ref d, ({x.Name}*)p); break;");
                    w.Line("default: d.Fail(VnDecodeError.UnexpectedSType); return;");
                    w.Close();
                    w.Line("if (d.Failed) return;");
                    w.Close();
                    w.Close();
                    return;
                }
        }
    }
}
