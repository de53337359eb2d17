using System.Reflection;
using System.Text;

namespace PortReserve.Tests;

/// <summary>
/// Freezes the packages' public APIs: any change shows up as a diff against the package's verified file, so it is made
/// on purpose. To accept a change, copy the printed .received.txt over the verified file.
/// </summary>
public sealed class PublicApiTests
{
    public static TheoryData<string, string> Packages => new()
    {
        { "PortReserve", "PublicApi.verified.txt" },
        { "PortReserve.AspNetCore", "PublicApi.AspNetCore.verified.txt" },
    };

    [Theory]
    [MemberData(nameof(Packages))]
    public void PublicApi_MatchesVerifiedFile(string package, string verifiedFile)
    {
        string actual = Describe(package == "PortReserve" ? typeof(PortReservationClient).Assembly : typeof(PortReserve.AspNetCore.ReservedListenOptions).Assembly);
        string verifiedPath = Path.Combine(AppContext.BaseDirectory, verifiedFile);
        string expected = File.Exists(verifiedPath) ? File.ReadAllText(verifiedPath).ReplaceLineEndings("\n") : string.Empty;
        if (actual != expected)
        {
            string receivedPath = Path.Combine(AppContext.BaseDirectory, verifiedFile.Replace(".verified.", ".received.", StringComparison.Ordinal));
            File.WriteAllText(receivedPath, actual);
            Assert.Fail($"The public API of {package} changed. Review {receivedPath} and copy it to test/PortReserve.Tests/{verifiedFile} if intended.\n{actual}");
        }
    }

    private static string Describe(Assembly assembly)
    {
        var text = new StringBuilder();
        foreach (Type type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            text.Append(TypeHeader(type)).Append('\n');
            foreach (string member in type.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Where(m => m is not MethodInfo { IsSpecialName: true } and not FieldInfo { IsSpecialName: true })
                .Select(Member)
                .Order(StringComparer.Ordinal))
            {
                text.Append("  ").Append(member).Append('\n');
            }
        }

        return text.ToString();
    }

    private static string TypeHeader(Type type)
    {
        string kind = type.IsEnum ? "enum" : type.IsInterface ? "interface" : type.IsValueType ? "struct" : type.IsAbstract && type.IsSealed ? "static class" : type.IsSealed ? "sealed class" : "class";
        IEnumerable<string> bases = (type.BaseType is { } b && b != typeof(object) && b != typeof(Enum) && b != typeof(ValueType) ? [Name(b)] : Array.Empty<string>())
            .Concat(type.GetInterfaces().Select(Name).Order(StringComparer.Ordinal));
        string inheritance = string.Join(", ", bases);
        return $"{kind} {type.FullName}{(inheritance.Length > 0 ? " : " + inheritance : string.Empty)}";
    }

    private static string Member(MemberInfo member) => member switch
    {
        ConstructorInfo c => $"ctor({Parameters(c)})",
        MethodInfo m => $"{(m.IsStatic ? "static " : string.Empty)}{Name(m.ReturnType)} {m.Name}({Parameters(m)})",
        PropertyInfo p => $"{Name(p.PropertyType)} {p.Name} {{ {(p.GetMethod?.IsPublic == true ? "get; " : string.Empty)}{(p.SetMethod?.IsPublic == true ? (p.SetMethod.ReturnParameter.GetRequiredCustomModifiers().Any(t => t.Name == "IsExternalInit") ? "init; " : "set; ") : string.Empty)}}}",
        FieldInfo f when f.DeclaringType!.IsEnum => $"{f.Name} = {f.GetRawConstantValue()}",
        FieldInfo f => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : string.Empty)}{Name(f.FieldType)} {f.Name}{(f.IsLiteral ? " = " + f.GetRawConstantValue() : string.Empty)}",
        EventInfo e => $"event {Name(e.EventHandlerType!)} {e.Name}",
        Type nested => $"nested {nested.Name}",
        _ => member.ToString()!,
    };

    private static string Parameters(MethodBase method)
        => string.Join(", ", method.GetParameters().Select(p => $"{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : string.Empty)}"));

    private static string Name(Type type)
    {
        if (type.IsGenericType)
        {
            string name = type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)];
            return $"{type.Namespace}.{name}<{string.Join(", ", type.GetGenericArguments().Select(Name))}>";
        }

        return type.IsByRef ? $"ref {Name(type.GetElementType()!)}" : type.FullName ?? type.Name;
    }
}
