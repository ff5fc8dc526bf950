"""The console's routers, one per area; ``console.app.create_app`` includes them."""
