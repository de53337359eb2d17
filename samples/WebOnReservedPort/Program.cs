// A minimal API on a port reserved through portreserved: nobody else can take it while the app runs, and it goes back
// when the app stops. By default any free port on 127.0.0.1; choose the block without code changes in
// appsettings.json ("PortReserve": { "Listen": { "StartPort": 8080, "Count": 1 } }) or with environment variables
// (PortReserve__Listen__StartPort=8080). The daemon is found at $PORTRESERVE_SOCKET, else at its standard paths.
using PortReserve.AspNetCore;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.WebHost.ListenReserved();
builder.Services.AddHealthChecks().AddPortReservation();

WebApplication app = builder.Build();
app.MapGet("/", (HttpContext context) => $"Hello from port {context.Connection.LocalPort}, reserved for this app.\n");
app.MapHealthChecks("/healthz");
app.Run();
